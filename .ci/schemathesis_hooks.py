"""Schemathesis hooks for .ci/schemathesis: how to put the import's text bodies on the wire."""

import json

import schemathesis


@schemathesis.serializer("application/x-ndjson")
def ndjson(ctx, value):
    # The document describes an NDJSON body as a string: send it as it is.
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    return json.dumps(value).encode("utf-8")
