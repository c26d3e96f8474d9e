"""What a search means, for both stores: ``query`` (the query language), ``analyzer`` (what a
word is: folding and stemming), ``match`` (a query decided on an article's text), ``snippets``
(the words around a match, marked) and ``index`` (the SQLite store's tantivy index). Nothing
here imports a store."""
