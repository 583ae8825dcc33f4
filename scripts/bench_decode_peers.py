#!/usr/bin/env python3
"""ecCodes side of scripts/bench-decode-peers.sh.

  prepare OUT SAMPLES DEMO_F000   re-pack sample fields with ecCodes as
                                  5.0, 5.2, 5.3 (orders 1 and 2), 5.40, 5.41
                                  and 5.42 into OUT
  time [--runs N] FILE...         median CPU ms of codes_get_values per message
  table ECCODES.tsv[,...] OURS.tsv[,...] [--doc FILE --machine TEXT]
                                  the two timings side by side, with ratios
                                  (several files: one per round, median);
                                  with --doc, also the per-template summary
                                  written into FILE between the
                                  <!-- decode-peers:start/end --> markers

Needs the PyPI eccodes wheel (it bundles the C library).
"""

import lzma
import gzip
import os
import statistics
import sys
import time


def read(path):
    with open(path, "rb") as f:
        raw = f.read()
    if path.endswith(".xz"):
        return lzma.decompress(raw)
    if path.endswith(".gz"):
        return gzip.decompress(raw)
    return raw


def messages(data):
    """(offset, bytes) of each GRIB message, by walking section 0 lengths."""
    out, pos = [], 0
    while True:
        k = data.find(b"GRIB", pos)
        if k < 0 or k + 16 > len(data):
            return out
        n = int.from_bytes(data[k + 8:k + 16], "big")
        out.append(data[k:k + n])
        pos = k + max(n, 1)


def repack(eccodes, msg, packing, order=None, bits=None):
    h = eccodes.codes_new_from_message(msg)
    try:
        values = eccodes.codes_get_values(h)
        missing = None
        if eccodes.codes_get(h, "bitmapPresent") or (values != values).any():
            missing = 9999.0
        g = eccodes.codes_clone(h)
        if missing is not None:
            eccodes.codes_set(g, "missingValue", missing)
            eccodes.codes_set(g, "bitmapPresent", 1)
        # Through simple packing first: ecCodes cannot switch 5.2 (no
        # differencing order) to 5.3 directly.
        eccodes.codes_set(g, "packingType", "grid_simple")
        eccodes.codes_set_values(g, values)
        eccodes.codes_set(g, "packingType", packing)
        if order is not None:
            eccodes.codes_set(g, "orderOfSpatialDifferencing", order)
        if bits is not None:
            # A fixed width: binary rather than decimal scaling.
            eccodes.codes_set(g, "decimalScaleFactor", 0)
            eccodes.codes_set(g, "bitsPerValue", bits)
        eccodes.codes_set_values(g, values)
        out = eccodes.codes_get_message(g)
        eccodes.codes_release(g)
        return out
    finally:
        eccodes.codes_release(h)


def prepare(out, samples, demo_f000):
    import eccodes

    os.makedirs(out, exist_ok=True)
    gdas = messages(read(os.path.join(samples, "gdas.t12z.pgrb2.0p25.f000.12.xz")))[0]
    cmc = messages(read(os.path.join(samples, "CMC_glb_TMP_ISBL_1_latlon.24x.24_2021051800_P000.grib2")))[0]
    ndfd = messages(read(os.path.join(samples, "ds.critfireo.bin.xz")))[0]
    demo = messages(read(demo_f000))
    t2m = demo[0]  # the demo's first field: 2 m temperature, 0.25°
    jobs = [
        ("t2m_0p25_simple16.grib2", t2m, "grid_simple", None, 16),
        ("t2m_0p25_simple24.grib2", t2m, "grid_simple", None, 24),
        ("t2m_0p25_complex.grib2", t2m, "grid_complex", None, None),
        ("t2m_0p25_spdiff2.grib2", t2m, "grid_complex_spatial_differencing", 2, None),
        ("vrate_0p25_simple.grib2", gdas, "grid_simple", None, None),
        ("vrate_0p25_complex.grib2", gdas, "grid_complex", None, None),
        ("vrate_0p25_spdiff1.grib2", gdas, "grid_complex_spatial_differencing", 1, None),
        ("cmc_t_0p24_simple.grib2", cmc, "grid_simple", None, None),
        ("cmc_t_0p24_spdiff2.grib2", cmc, "grid_complex_spatial_differencing", 2, None),
        ("ndfd_bitmap_simple.grib2", ndfd, "grid_simple", None, None),
        ("ndfd_bitmap_spdiff2.grib2", ndfd, "grid_complex_spatial_differencing", 2, None),
        ("t2m_0p25_jpeg.grib2", t2m, "grid_jpeg", None, None),
        ("t2m_0p25_png.grib2", t2m, "grid_png", None, None),
        ("t2m_0p25_ccsds.grib2", t2m, "grid_ccsds", None, None),
        ("vrate_0p25_ccsds.grib2", gdas, "grid_ccsds", None, None),
        ("ndfd_bitmap_jpeg.grib2", ndfd, "grid_jpeg", None, None),
        ("ndfd_bitmap_ccsds.grib2", ndfd, "grid_ccsds", None, None),
    ]
    for name, msg, packing, order, bits in jobs:
        with open(os.path.join(out, name), "wb") as f:
            f.write(repack(eccodes, msg, packing, order, bits))
        print(f"wrote {name}", file=sys.stderr)


def timing(files, runs):
    import eccodes

    print("file\tmessage\tpacking\tpoints\tmedian_ms")
    for path in files:
        name = os.path.basename(path)
        for k, msg in enumerate(messages(read(path))):
            h = eccodes.codes_new_from_message(msg)
            packing = eccodes.codes_get(h, "packingType")
            eccodes.codes_release(h)
            times, points = [], 0
            for _ in range(runs):
                h = eccodes.codes_new_from_message(msg)
                t0 = time.process_time()
                values = eccodes.codes_get_values(h)
                t1 = time.process_time()
                points = len(values)
                eccodes.codes_release(h)
                times.append((t1 - t0) * 1e3)
            print(f"{name}\t{k + 1}\t{packing}\t{points}\t{statistics.median(times):.3f}")


def load(paths):
    """Rows by (file, message) from one or more TSVs (comma-separated
    paths, one per round), median_ms being the median over the rounds."""
    merged = {}
    for path in paths.split(","):
        with open(path) as f:
            rows = [line.rstrip("\n").split("\t") for line in f if line.strip()]
        head, body = rows[0], rows[1:]
        for r in body:
            row = dict(zip(head, r))
            merged.setdefault((r[0], r[1]), []).append(row)
    out = {}
    for key, rows in merged.items():
        row = dict(rows[0])
        row["median_ms"] = str(statistics.median(float(r["median_ms"]) for r in rows))
        out[key] = row
    return out


def table(eccodes_tsv, ours_tsv, doc=None, machine=""):
    theirs, ours = load(eccodes_tsv), load(ours_tsv)
    print(f"{'file':34} {'msg':>3} {'template':8} {'packing (ecCodes)':34} {'points':>9} "
          f"{'ecCodes ms':>10} {'ours ms':>8} {'ours/ecCodes':>12}")
    by_template, real = {}, []
    for key, o in ours.items():
        t = theirs.get(key)
        if t is None:
            continue
        e_ms, o_ms = float(t["median_ms"]), float(o["median_ms"])
        ratio = o_ms / e_ms if e_ms > 0 else float("nan")
        by_template.setdefault(o["template"], []).append(ratio)
        if o["template"] in ("5.40", "5.41", "5.42") and key[0] in REAL:
            real.append((o["template"], REAL[key[0]], o["points"], e_ms, o_ms, ratio))
        print(f"{key[0][:34]:34} {key[1]:>3} {o['template']:8} {t['packing'][:34]:34} "
              f"{o['points']:>9} {e_ms:10.3f} {o_ms:8.3f} {ratio:12.2f}")
    print()
    summary = []
    for tmpl, ratios in sorted(by_template.items(), key=lambda kv: float(kv[0][2:])):
        line = (len(ratios), statistics.median(ratios), min(ratios), max(ratios))
        summary.append((tmpl, *line))
        print(f"template {tmpl}: {line[0]} messages, ours/ecCodes median "
              f"{line[1]:.2f} (best {line[2]:.2f}, worst {line[3]:.2f})")
    if doc:
        write_doc(doc, machine, summary, sorted(real))


# The real files' messages packed with the codecs, named in the doc.
REAL = {
    "CMC_glb_TMP_ISBL_1_latlon.24x.24_2021051800_P000.grib2": "CMC 0.24° temperature",
    "20250912120000-0h-oper-fc.grib2.89.xz": "ECMWF 0.25° precipitation rate",
    "MRMS_ReflectivityAtLowestAltitude_00.50_20230406-120039.grib2.gz":
        "MRMS 0.01° reflectivity",
}


def write_doc(path, machine, summary, real):
    """Replaces the text between the decode-peers markers of `path`."""
    import re

    out = ["<!-- decode-peers:start -->",
           f"Written by `make bench-peers` (scripts/bench-decode-peers.sh): {machine}.",
           "Each time is the median over the rounds of each round's median over the",
           "runs of one message's decode, CPU time of the decoding thread on both",
           "sides (ecCodes: `codes_get_values`; ours: a whole `decode_message`,",
           "i.e. parse, unpack, scan order); the two sides alternate round by round.",
           "",
           "| template | messages | ours ÷ ecCodes, median | best | worst |",
           "| --- | ---: | ---: | ---: | ---: |"]
    for tmpl, n, med, best, worst in summary:
        out.append(f"| {tmpl} | {n} | **{med:.2f}** | {best:.2f} | {worst:.2f} |")
    if real:
        out += ["",
                "| real message | template | points | ecCodes ms | ours ms | ours ÷ ecCodes |",
                "| --- | --- | ---: | ---: | ---: | ---: |"]
        for tmpl, name, points, e_ms, o_ms, ratio in real:
            out.append(f"| {name} | {tmpl} | {int(points):,} | {e_ms:.1f} | {o_ms:.1f} | "
                       f"**{ratio:.2f}** |")
    out.append("<!-- decode-peers:end -->")
    block = "\n".join(out) + "\n"
    with open(path) as f:
        text = f.read()
    pattern = re.compile(r"<!-- decode-peers:start -->.*?<!-- decode-peers:end -->\n?", re.S)
    if not pattern.search(text):
        sys.exit(f"{path}: no <!-- decode-peers:start --> ... end --> markers")
    with open(path, "w") as f:
        f.write(pattern.sub(lambda _: block, text, count=1))
    print(f"wrote the summary into {path}", file=sys.stderr)


def main(argv):
    if len(argv) >= 4 and argv[0] == "prepare":
        prepare(argv[1], argv[2], argv[3])
    elif argv and argv[0] == "time":
        runs, files = 15, argv[1:]
        if files[:1] == ["--runs"]:
            runs, files = int(files[1]), files[2:]
        timing(files, runs)
    elif len(argv) >= 3 and argv[0] == "table":
        opts = dict(zip(argv[3::2], argv[4::2]))
        table(argv[1], argv[2], opts.get("--doc"), opts.get("--machine", ""))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
