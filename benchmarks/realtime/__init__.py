"""The parts of ``benchmarks/realtime_cost.py`` (issue 16), one concept each: the processes whose CPU is
measured (:mod:`.processes`), the bare ``BleakScanner`` peer (:mod:`.peer`), what runs on the bleak path
and the replay (:mod:`.scenarios`), the loop-turn count and the profiler (:mod:`.probes`) and the table
(:mod:`.table`). A sub-package, so ``edge bench`` (which runs every ``benchmarks/*.py``) does not take
them for benchmarks."""
