#!/usr/bin/env python3
"""Write `checksums.json` into checkpoint directories, as `multireward::checkpoint::write_checksums`
does when it saves one: the SHA-256 (hex) of every visible regular file but the checksum file
itself, keyed by file name, sorted. Loads verify each file they read against it.

Usage: scripts/write-checksums.py DIR...   (e.g. every directory under assets/ with a model.bpk)
"""
import hashlib
import json
import os
import sys


def checksums(directory):
    sums = {}
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if name == "checksums.json" or name.startswith(".") or not os.path.isfile(path):
            continue
        with open(path, "rb") as f:
            sums[name] = hashlib.sha256(f.read()).hexdigest()
    return sums


for directory in sys.argv[1:]:
    with open(os.path.join(directory, "checksums.json"), "w") as f:
        json.dump(checksums(directory), f, indent=2)
    print(f"wrote {directory}/checksums.json")
