"""The MongoDB store (pymongo): for real deployments, replica sets, sharding, Atlas.

``store`` holds the store and its writes, ``claims`` the path-uniqueness collection that lets
``articles`` be sharded, ``search`` search by the embedded store's analyzer, ``lock`` the daemon records, ``conn`` the
client options and error classes, ``docs`` the BSON form of an article."""

from __future__ import annotations

import pymongo
from pymongo.errors import PyMongoError

from archive.store.mongo.conn import classify, client_options, connection_reason, database_name, hosts_of
from archive.store.mongo.docs import from_mongo, to_mongo
from archive.store.mongo.store import MongoStore

__all__ = ["MongoStore", "PyMongoError", "classify", "client_options", "connection_reason",
           "database_name", "from_mongo", "hosts_of", "pymongo", "to_mongo"]
