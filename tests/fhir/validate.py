"""Parses FHIR R4 JSON documents with the fhir.resources models (FHIR 4.0.1).

Usage: validate.py FILE...   Each file holds one resource (a Bundle or any other).
Prints {"FILE": {"ResourceType": count, ...}} and exits 0 when every document and every
resource in it parses: required elements present, types right, no unknown elements.
Exits 1 with the validation errors otherwise.
"""
import json
import sys

from fhir.resources.fhirelementfactory import FHIRElementFactory


def main(paths):
    summary = {}
    failed = False
    for path in paths:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        try:
            resource = FHIRElementFactory.instantiate(data["resourceType"], data)
        except Exception as error:  # the library raises its own validation error types
            print(f"{path}: {error}", file=sys.stderr)
            failed = True
            continue
        counts = {}
        if data["resourceType"] == "Bundle":
            for entry in resource.entry or []:
                name = entry.resource.resource_type
                counts[name] = counts.get(name, 0) + 1
        else:
            counts[resource.resource_type] = 1
        summary[path] = counts
    print(json.dumps(summary))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
