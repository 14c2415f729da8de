"""Development tools: generated test media (`synth`), generated chat (`chatgen`) and the
vision layouts' screenshots (`vision_shots`). Imported as `from tools import synth` by the
tests and benchmarks; run from the repository root as modules:

    python -m tools.synth stream OUT.mp4 --duration 240
"""
