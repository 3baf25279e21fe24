"""Seed captioner at full size on this machine: training throughput and inference latency.

    .venv/bin/python bench/bench_seed.py                      # resnet50, 224 px, random weights
    .venv/bin/python bench/bench_seed.py --steps 2 --runs 2   # a quick check that it runs

Prints: training images/s with the encoder frozen and with its top 2 blocks training, and the latency of
one caption with greedy decoding and with beam search (beam 3), median over --runs. Random weights give
captions of random length; decoding is capped at --max-words words so every run decodes the same number
of steps (the worst case for a caption of that length).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _machine import cpu_line, load_average  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--encoder", default="resnet50")
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--grid-size", type=int, default=14)
    parser.add_argument("--vocab", type=int, default=10_000, help="vocabulary size (COCO with min count 5: ~10k)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--caption-words", type=int, default=12, help="length of the training captions")
    parser.add_argument("--max-words", type=int, default=20, help="decoded words per caption")
    parser.add_argument("--steps", type=int, default=5, help="timed training steps per stage")
    parser.add_argument("--runs", type=int, default=10, help="timed captions per decoding mode")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    print(f"CPU: {cpu_line()}; at start: {load_average()}", flush=True)

    import torch

    from describe_aloud.engine.training.config import ModelConfig
    from describe_aloud.engine.training.model import CaptionModel

    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    # Random weights: the cost is the same as with trained ones, and nothing is downloaded.
    config = ModelConfig(encoder=args.encoder, grid_size=args.grid_size, max_caption_len=args.max_words)
    model = CaptionModel(config, args.vocab)
    params = sum(p.numel() for p in model.parameters())
    print(f"seed model: {args.encoder} encoder + attention LSTM, {params / 1e6:.1f}M parameters, "
          f"{args.image_size} px, grid {args.grid_size}x{args.grid_size}, vocabulary {args.vocab}, "
          f"{torch.get_num_threads()} torch threads, {os.cpu_count()} CPUs")

    images = torch.randn(args.batch_size, 3, args.image_size, args.image_size)
    captions = torch.randint(4, args.vocab, (args.batch_size, args.caption_words + 2))
    for label, blocks in (("encoder frozen", 0), ("top 2 encoder blocks training", 2)):
        model.encoder.set_trainable(blocks)
        model.train()
        trainable = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.Adam(trainable, lr=1e-4)
        times = []
        for step in range(args.steps + 1):  # the first step warms up
            started = time.perf_counter()
            logits, alphas = model(images, captions[:, :-1])
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, args.vocab), captions[:, 1:].reshape(-1))
            loss = loss + ((1 - alphas.sum(1)) ** 2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if step:
                times.append(time.perf_counter() - started)
        print(f"training, {label}: {args.batch_size / statistics.median(times):.1f} images/s "
              f"(median of {len(times)} steps of {args.batch_size} images)")

    model.eval()
    # Never end early: every run decodes max_words steps.
    with torch.no_grad():
        model.decoder.fc.bias[model.end_id] = -1e4
    image = torch.randn(1, 3, args.image_size, args.image_size)
    for label, beam in (("greedy", 1), ("beam 3", 3)):
        times = []
        for run in range(args.runs + 1):
            started = time.perf_counter()
            with torch.inference_mode():
                features = model.encoder(image)
                encoded = time.perf_counter()
                model.decode(features, beam_size=beam)
            if run:
                times.append((time.perf_counter() - started, encoded - started))
        total = statistics.median(t for t, _ in times)
        encode = statistics.median(e for _, e in times)
        print(f"inference, {label}: {total * 1000:.0f} ms per image ({encode * 1000:.0f} ms encoder, "
              f"{(total - encode) * 1000:.0f} ms decoding {args.max_words} words; median of {len(times)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
