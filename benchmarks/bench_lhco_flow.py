"""Training throughput of the LHCO density flow (ANODE, CATHODE) per batch size and thread count.

Usage: python benchmarks/bench_lhco_flow.py [--size full] [--batch-sizes 256 1024 4096]
       [--threads 1 2] [--steps 30] [--sideband-events 870000] [--device cpu] [--json out.json]

Times optimiser steps of ``ConditionalDensity``'s flow at the given size (``full``: the anchor's
15 MADE blocks of 128 units) on standard-normal stand-ins for the four standardised features
(the cost of a step does not depend on the values), after three warm-up steps, and converts them
to seconds per epoch of ``--sideband-events`` training events (80% of them train, the rest
validate). Also times one per-epoch training checkpoint (``torch.save`` of the state the loop
keeps) so that its share of an epoch is known.
"""

from __future__ import annotations

import argparse
import io
import json
import time

import torch
from timing import machine

from hepbench.baselines.lhco.density import FLOW_SIZES, ConditionalDensity
from hepbench.torch_common import resolve_device


def time_steps(flow: torch.nn.Module, batch_size: int, steps: int, device: str, learning_rate: float) -> float:
    """Median seconds per optimiser step over ``steps`` steps (after three warm-up steps)."""
    optimiser = torch.optim.Adam(flow.parameters(), lr=learning_rate)
    z = torch.randn(batch_size, 4, device=device)
    context = torch.randn(batch_size, 1, device=device)
    times = []
    for step in range(steps + 3):
        start = time.perf_counter()
        loss = -flow(context).log_prob(z).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if device == "cuda":
            torch.cuda.synchronize()
        if step >= 3:
            times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="full", choices=tuple(FLOW_SIZES))
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[256, 1024, 4096])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--sideband-events", type=int, default=870_000)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    device = resolve_device(args.device)
    density = ConditionalDensity.for_size(args.size, device)
    cfg = FLOW_SIZES[args.size]
    n_train = int(round(args.sideband_events * (1 - density.validation_fraction)))
    rows = []
    for threads in args.threads if device == "cpu" else [torch.get_num_threads()]:
        torch.set_num_threads(threads)
        for batch_size in args.batch_sizes:
            torch.manual_seed(0)
            flow = density._flow(4).to(device)
            step = time_steps(flow, batch_size, args.steps, device, cfg.learning_rate)
            rows.append(
                {
                    "threads": threads,
                    "batch_size": batch_size,
                    "ms_per_step": 1e3 * step,
                    "events_per_second": batch_size / step,
                    "seconds_per_epoch": step * n_train / batch_size,
                }
            )
            print(
                f"threads {threads}  batch {batch_size:>5}: {1e3 * step:7.1f} ms/step, "
                f"{batch_size / step:9.0f} events/s, {step * n_train / batch_size:6.0f} s per epoch"
            )
    # What the loop writes after every epoch: weights, Adam state and the n_best kept epochs.
    flow = density._flow(4)
    optimiser = torch.optim.Adam(flow.parameters())
    time_steps(flow, 256, 1, "cpu", cfg.learning_rate)
    state = {
        "module": flow.state_dict(),
        "optimiser": optimiser.state_dict(),
        "best": [(0.0, k, flow.state_dict()) for k in range(cfg.n_best)],
    }
    start = time.perf_counter()
    buffer = io.BytesIO()
    torch.save(state, buffer)
    save_seconds = time.perf_counter() - start
    print(f"checkpoint: {buffer.tell() / 1e6:.1f} MB serialised in {save_seconds * 1e3:.0f} ms")
    result = {
        "size": args.size,
        "device": device,
        "machine": machine(),
        "date": time.strftime("%Y-%m-%d"),
        "parameters": sum(p.numel() for p in density._flow(4).parameters()),
        "training_events": n_train,
        "rows": rows,
        "checkpoint_mb": buffer.tell() / 1e6,
        "checkpoint_seconds": save_seconds,
    }
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(result, handle, indent=1)


if __name__ == "__main__":
    main()
