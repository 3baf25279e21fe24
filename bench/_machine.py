"""What every bench prints about the machine it ran on, said in one place: the CPU model, the flags that
decide which kernels run (figures from CPUs with different flags are not comparable), and the load average
(on 2 cores, above 1.5 means other programs shared the CPUs: compare the rows of one run, not absolutes)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from describe_aloud.engine.device import cpu_model_and_flags  # noqa: E402

# The instruction sets the fast paths depend on (bf16/int8 matmuls, oneDNN's blocked layouts).
CPU_FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "avx_vnni", "amx_tile", "amx_bf16", "amx_int8")
BUSY_LOAD = 1.5


def cpu_line() -> str:
    """'AMD EPYC ...; 2 CPUs; flags: avx2 fma avx512f ...' (Linux: /proc/cpuinfo; elsewhere what Python says)."""
    model, flags = cpu_model_and_flags()
    model = model or "unknown CPU"
    shown = " ".join(f for f in CPU_FLAGS if f in flags) or "none of " + " ".join(CPU_FLAGS)
    return f"{model}; {os.cpu_count()} CPUs; flags: {shown}"


def load_average() -> str:
    """'load average 0.98 / 1.02 / 1.10 (1/5/15 min) on 2 CPUs', marked when the machine was busy."""
    one, five, fifteen = os.getloadavg()
    busy = " (busy machine)" if one > BUSY_LOAD else ""
    return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} (1/5/15 min) on {os.cpu_count()} CPUs{busy}"
