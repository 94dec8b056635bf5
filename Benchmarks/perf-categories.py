#!/usr/bin/env python3
"""Splits `perf script -F comm,tid,ip,sym,dso` output (Swift names demangled with `swift demangle`)
into categories: each sample goes to the first category whose pattern matches any frame of its
stack, patterns tried in order. Usage: perf-categories.py replica|postgres < script"""
import re, sys
from collections import Counter

CATEGORIES = {
    "replica": [
        ("signature verification (Ed25519, SHA-512/256)", r"ED25519|SHA(256|512)|sha(256|512)_block|SignedEnvelope\.verify|HashChain"),
        ("inflate (zlib)", r"libz\.so|\binflate"),
        ("CBOR / COSE / SenML decode", r"CBOR|SenML|COSE|BatchReceiver\.decode"),
        ("logging (one line per batch)", r"Logger|LogHandler"),
        ("PostgreSQL wire (postgres-nio, its socket I/O)", r"Postgres|PSQL"),
        ("HTTP (Hummingbird, NIO HTTP/1, JSON answer)", r"HTTP|Hummingbird|Router|IngestServer|JSONEncoder|JSONWriter|Responder"),
        ("event loop / sockets / scheduling (not attributable above)", r"SelectableEventLoop|epoll|futex|schedule|finish_task_switch|Socket"),
        ("Swift concurrency / runtime / malloc (not attributable above)", r"swift|malloc|free|dispatch"),
    ],
    "postgres": [
        ("WAL flush / fsync at COMMIT", r"XLogFlush|issue_xlog_fsync|fdatasync|fsync|XLogWrite|pg_fsync|WALWrite|xfs_|ext4_sync|blkdev|nvme|virtblk"),
        ("WAL insert (record assembly)", r"XLogInsert|XLogRecordAssemble|CopyXLogRecordToWAL"),
        ("parse / analyze / plan", r"raw_parser|base_yyparse|parse_analyze|pg_analyze|pg_plan|planner|standard_planner|exec_parse_message|exec_bind_message|GetCachedPlan|BuildCachedPlan|RevalidateCachedQuery"),
        ("row lock (chain FOR UPDATE)", r"heap_lock_tuple|ExecLockRows|LockTuple|XactLockTableWait"),
        ("insert (heap, indexes, ON CONFLICT)", r"ExecInsert|heap_insert|btinsert|_bt_|ExecCheckIndexConstraints|index_insert|ExecUpdate|heap_update"),
        ("commit / transaction start-end, locks", r"CommitTransaction|StartTransaction|AbortTransaction|LockAcquire|LockRelease|ProcSleep|ProcArray"),
        ("client protocol and TCP (pq_*, socket)", r"pq_|secure_read|secure_write|socket|tcp_|sock_|SocketBackend|WaitEventSetWait|epoll"),
        ("background: writer, checkpointer, walwriter, autovacuum", r"BackgroundWriter|Checkpointer|WalWriter|AutoVac|autovacuum|BgBuffer|CheckPoint"),
        ("other executor / catalog / memory", r"."),
    ],
}

def main():
    kind = sys.argv[1]
    cats = [(n, re.compile(p)) for n, p in CATEGORIES[kind]]
    counts, total, stack = Counter(), 0, []
    def flush():
        nonlocal total
        if not stack: return
        total += 1
        text = "\n".join(stack)
        for name, pattern in cats:
            if pattern.search(text):
                counts[name] += 1; return
        counts["other"] += 1
    for line in sys.stdin:
        if not line.strip():
            flush(); stack.clear(); continue
        if line.startswith((" ", "\t")):
            stack.append(line.strip())
        else:
            flush(); stack.clear(); stack.append(line.strip())  # the comm line (process / thread name)
    flush()
    print(f"{total} samples")
    for name, _ in cats + [("other", None)]:
        if counts[name]: print(f"| {name} | {100 * counts[name] / total:.1f} % |")

main()
