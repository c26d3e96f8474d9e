# archive: the watch daemon and the CLI, on a slim Python image, as a non-root user.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin archive
WORKDIR /app
COPY pyproject.toml README.md ./
COPY archive ./archive
RUN pip install . && rm -rf /root/.cache

USER archive
ENV ARCHIVE_WATCH_DIR=/seeds
ENTRYPOINT ["archive"]
EXPOSE 8080
CMD ["watch", "/seeds"]
