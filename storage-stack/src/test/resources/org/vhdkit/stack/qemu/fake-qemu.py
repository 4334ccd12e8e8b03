#!/usr/bin/env python3
"""A stand-in for qemu-system-x86_64 in tests of the qemu engine's failure paths.

Usage: fake-qemu.py SCENARIO [qemu's own arguments...]

It serves QMP on the socket of the "-chardev socket,id=qmp,path=..." argument the engine passes, runs
no guest, and answers as SCENARIO says:
  ok            every command succeeds; a migration to "exec:cat > FILE" writes a few bytes there
  save-fails    a migration ends "failed" with an error description
  save-hangs    a migration never ends (until migrate_cancel)
  load-fails    an incoming migration ends "failed"
  ignores-quit  never answers "quit" and does not exit (the engine must kill it)
"""
import json
import os
import re
import socket
import sys

scenario = sys.argv[1]
args = sys.argv[2:]
path = None
for i, a in enumerate(args[:-1]):
    if a == "-chardev" and args[i + 1].startswith("socket,id=qmp,"):
        path = re.search(r"path=((?:[^,]|,,)*)", args[i + 1]).group(1).replace(",,", ",")
if path is None:
    sys.exit("fake-qemu: no QMP chardev among the arguments")

server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(path)
server.listen(1)
conn, _ = server.accept()
reader = conn.makefile("r", encoding="utf-8")


def send(obj):
    conn.sendall((json.dumps(obj) + "\n").encode())


send({"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": "fake"}, "capabilities": []}})
status = "prelaunch" if "-incoming" not in args else "inmigrate"
migration = "none"
for line in reader:
    cmd = json.loads(line)
    name = cmd["execute"]
    ident = cmd.get("id")
    value = {}
    if name == "quit":
        if scenario == "ignores-quit":
            continue
        send({"return": {}, "id": ident})
        sys.exit(0)
    elif name == "cont":
        status = "running"
    elif name == "stop":
        status = "paused"
    elif name == "query-status":
        value = {"status": status, "running": status == "running"}
    elif name == "migrate":
        if scenario == "save-fails":
            migration = "failed"
        elif scenario == "save-hangs":
            migration = "active"
        else:
            target = re.match(r"exec:cat > '(.*)'$", cmd["arguments"]["uri"]).group(1).replace("'\\''", "'")
            with open(target, "wb") as f:
                f.write(b"fake machine state\n")
            migration = "completed"
        status = "postmigrate" if migration == "completed" else "paused"
    elif name == "migrate-incoming":
        migration = "failed" if scenario == "load-fails" else "completed"
        status = "paused"
    elif name == "migrate_cancel":
        migration = "cancelled"
    elif name == "query-migrate":
        value = {"status": migration}
        if migration == "failed":
            value["error-desc"] = "fake-qemu: the " + scenario + " scenario"
    send({"return": value, "id": ident})
