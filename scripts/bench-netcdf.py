#!/usr/bin/env python3
"""Python netCDF4's time for the work wxfarm's NetCDF reader does per band
(decode/benches/goes.rs): open the file from memory, read the data and
DQF, unpack (netCDF4 applies _Unsigned, _FillValue, scale_factor and
add_offset), mask DQF >= 2, convert L1b radiances to brightness
temperature (Planck) or reflectance factor (kappa0). Median of 10 runs.

Usage: scripts/bench-netcdf.py FILE.nc ..."""
import statistics
import sys
import time

import netCDF4
import numpy as np


def decode(data: bytes):
    ds = netCDF4.Dataset("mem", memory=data)
    name = "Rad" if "Rad" in ds.variables else "CMI"
    v = ds.variables[name][:].astype(np.float64).filled(np.nan)
    dqf = ds.variables["DQF"]
    dqf.set_auto_maskandscale(False)
    q = dqf[:].view(np.uint8)
    v[q >= 2] = np.nan
    if name == "Rad":
        band = int(ds.variables["band_id"][0])
        if band <= 6:
            v = float(ds.variables["kappa0"][...]) * v
        else:
            g = lambda n: float(ds.variables[n][...])
            v = (g("planck_fk2") / np.log(g("planck_fk1") / v + 1) - g("planck_bc1")) / g("planck_bc2")
    out = v.astype(np.float32)
    ds.close()
    return out


for path in sys.argv[1:]:
    data = open(path, "rb").read()
    times = []
    for _ in range(10):
        t = time.perf_counter()
        decode(data)
        times.append(time.perf_counter() - t)
    print(f"{path.rsplit('/', 1)[-1].split('_s')[0]}\t{statistics.median(times) * 1000:.1f} ms")
