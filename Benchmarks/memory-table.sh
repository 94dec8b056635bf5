#!/usr/bin/env bash
# Prints the memory of a run of Benchmarks/memory-long.sh (finished or still going) as a Markdown
# table, one row every 10 minutes, offline and online side by side, then per run the range of the
# anonymous memory (RssAnon) and of VmRSS after the first 10 minutes: "flat" means within 1 MB.
# Usage: Benchmarks/memory-table.sh OUT_DIR
set -euo pipefail
tsv=${1:?usage: Benchmarks/memory-table.sh OUT_DIR}/memory.tsv
[[ -s $tsv ]] || { echo "no samples in $tsv" >&2; exit 1; }
awk -F'\t' '
    NR == 1 { next }
    NF != 5 || $1 !~ /^[0-9]+$/ { next }          # a line being written while we read
    {
        t = $1; run = $2
        if (!(t in seen)) { seen[t] = 1; times[++n] = t }
        rss[t, run] = $3; anon[t, run] = $4
        if (t >= 600) {
            if (!(run in amin) || $4 < amin[run]) amin[run] = $4
            if (!(run in amax) || $4 > amax[run]) amax[run] = $4
            if (!(run in rmin) || $3 < rmin[run]) rmin[run] = $3
            if (!(run in rmax) || $3 > rmax[run]) rmax[run] = $3
        }
        last = t
    }
    END {
        print "| time | offline VmRSS (kB) | offline RssAnon (kB) | online VmRSS (kB) | online RssAnon (kB) |"
        print "|---|---|---|---|---|"
        next_row = 0
        for (i = 1; i <= n; i++) {
            t = times[i]
            if (t < next_row && t != last) continue
            next_row = (int(t / 600) + 1) * 600
            printf "| %d h %02d min | %s | %s | %s | %s |\n", t / 3600, (t % 3600) / 60,
                rss[t, "offline"], anon[t, "offline"], rss[t, "online"], anon[t, "online"]
        }
        split("offline online", runs, " ")
        for (k = 1; k <= 2; k++) if ((run = runs[k]) in amin)
            printf "%s after 10 min: RssAnon %d..%d kB (range %d kB), VmRSS %d..%d kB (range %d kB)\n",
                run, amin[run], amax[run], amax[run] - amin[run], rmin[run], rmax[run], rmax[run] - rmin[run]
    }' "$tsv"
