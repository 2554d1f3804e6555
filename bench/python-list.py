# The reference for the bench's rows beside the Python skill this project replaces. That skill
# is not in this repository: this re-implements the work its list_processes.py did per call:
# decrypt a JSON state with `openssl enc -d -aes-256-cbc -pbkdf2` (PBKDF2-SHA256, 10,000
# iterations) and print a table. The bench runs it with the interpreter itself (sys.executable
# of `python3` on PATH), never through a shim such as pyenv's (a bash script: ~60 ms more).
# Usage: <python> bench/python-list.py STATE_FILE (BG_PASSWORD set).
import json
import subprocess
import sys

out = subprocess.run(
    ["openssl", "enc", "-d", "-aes-256-cbc", "-pbkdf2", "-pass", "env:BG_PASSWORD", "-in", sys.argv[1]],
    capture_output=True,
    check=True,
)
procs = json.loads(out.stdout)
print(f"{'ID':<10} {'PID':<8} {'STATUS':<10} {'STARTED':<20} COMMAND")
for p in procs.values():
    print(f"{p['id']:<10} {p['pid']:<8} {p['status']:<10} {p['start_time']:<20} {p['command']}")
