"""The baseline pg-ddl-sync is measured against: Python's csv module over the same csvlog files,
keeping what the original tool kept (statements that are DDL, and every ERROR/FATAL/PANIC with its
session and transaction), as a simple sync written in Python would. Prints the counts it kept.

    python3 bench/baseline.py FILE...
"""
import csv
import os
import re
import resource
import sys

DDL = re.compile(r"statement: \s*(CREATE|ALTER|DROP|COMMENT|GRANT|REVOKE|TRUNCATE|SECURITY|REINDEX|IMPORT)\b", re.I)
FAILED = {"ERROR", "FATAL", "PANIC"}


def main(files):
    csv.field_size_limit(1 << 30)
    kept = []
    failures = []
    records = 0
    for name in files:
        with open(name, newline="", encoding="utf-8", errors="surrogateescape") as f:
            for row in csv.reader(f):
                records += 1
                severity, message = row[11], row[13]
                if severity in FAILED:
                    failures.append((row[5], row[9], row[12], message))
                elif severity == "LOG" and DDL.match(message):
                    kept.append((row[2], row[5], row[9], message[len("statement: "):]))
    print(f"records {records} ddl {len(kept)} failures {len(failures)}")
    out = os.environ.get("PGDS_BENCH_RSS")
    if out:
        with open(out, "w") as f:
            f.write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))


if __name__ == "__main__":
    main(sys.argv[1:])
