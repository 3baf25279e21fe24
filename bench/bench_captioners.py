"""Benchmark the catalog's captioners at full size, with random weights (no hub, no download).

For each model: build the published architecture (the real hyper-parameters) with random weights, a tokenizer
of the real vocabulary size and the real image processor, `save_pretrained` it into a temporary folder, then
load it through the app's own loader (engine.captioners.hf.load_hf_captioner) once per precision and caption
one 1280x720 image with exactly 20 new tokens (min_new_tokens = max_new_tokens = 20), several times.

Prints the median seconds per stage: load, preprocess, vision (encoder), decode (the rest of generate), the
caption total, and OCR of the same image with engine.ocr (when that module exists). Random weights cost the
same arithmetic as real ones, so the times hold for the real models; the words do not.

    .venv/bin/python bench/bench_captioners.py                       # every model, fp32 + auto, 5 runs
    .venv/bin/python bench/bench_captioners.py --models git-base --runs 1
    .venv/bin/python bench/bench_captioners.py --precisions fp32,auto,int8 --detail

`auto` is what the app uses: bf16 on a CPU with native bf16 (AVX512-BF16 / AMX), else fp32. Run it on a quiet
machine: other processes on the same cores change the figures.
"""
from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _machine import cpu_line, load_average  # noqa: E402

from PIL import Image, ImageDraw, ImageFont  # noqa: E402

TOKENS = 20
CATALOG_NAMES = ("git-base", "florence-2-base", "blip-base", "blip-large", "distilvit")
STAGES = ("load", "preprocess", "vision", "decode", "caption", "ocr")


# ------------------------------------------------------------------------------------ tokenizers
def _bert_tokenizer(vocab_size: int, *, dec_token: bool):
    """A BERT WordPiece tokenizer with the real special-token ids ([PAD]=0, [CLS]=101, [SEP]=102) and
    `vocab_size` entries; BLIP's [DEC] sits at 30522 as in the published vocabulary."""
    from transformers import BertTokenizer

    vocab = {f"w{i}": i for i in range(vocab_size)}
    specials = {"[PAD]": 0, "[UNK]": 100, "[CLS]": 101, "[SEP]": 102, "[MASK]": 103}
    if dec_token:
        specials["[DEC]"] = 30522
    inverse = {i: tok for tok, i in vocab.items()}
    for tok, i in specials.items():
        inverse[i] = tok
    vocab = {tok: i for i, tok in inverse.items()}
    kwargs = {"bos_token": "[DEC]"} if dec_token else {}
    return BertTokenizer(vocab=vocab, **kwargs), specials


def _byte_level_vocab(specials: list[str], size: int, capitals: bool = False) -> dict[str, int]:
    """Specials, the byte alphabet, then words "w<N>" ("W<N>" with `capitals`: a capital after a full stop
    begins a sentence)."""
    from tokenizers.pre_tokenizers import ByteLevel

    tokens = list(specials) + sorted(ByteLevel.alphabet())
    tokens += [f"Ġ{'W' if capitals else 'w'}{i}" for i in range(size - len(tokens))]
    return {tok: i for i, tok in enumerate(tokens)}


# ---------------------------------------------------------------------------- full-size builders
def build_git_base(folder: Path) -> None:
    """microsoft/git-base-coco: CLIP ViT-B/16 at 224 px + a 6-layer 768-wide decoder (GitConfig defaults)."""
    from transformers import CLIPImageProcessor, GitConfig, GitForCausalLM, GitProcessor

    tokenizer, sp = _bert_tokenizer(30522, dec_token=False)
    config = GitConfig(vocab_size=30522, bos_token_id=sp["[CLS]"], eos_token_id=sp["[SEP]"], pad_token_id=0)
    processor = GitProcessor(
        image_processor=CLIPImageProcessor(size={"shortest_edge": 224}, crop_size={"height": 224, "width": 224}),
        tokenizer=tokenizer,
    )
    _save(GitForCausalLM(config), processor, folder)


def _build_blip(folder: Path, *, large: bool) -> None:
    from transformers import BlipConfig, BlipForConditionalGeneration, BlipImageProcessor, BlipProcessor

    tokenizer, sp = _bert_tokenizer(30524, dec_token=True)
    vision = dict(image_size=384, patch_size=16)
    if large:  # ViT-L/16
        vision.update(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16)
    text = dict(
        vocab_size=30524, encoder_hidden_size=vision.get("hidden_size", 768),
        bos_token_id=sp["[DEC]"], sep_token_id=sp["[SEP]"], eos_token_id=sp["[SEP]"], pad_token_id=0,
    )
    config = BlipConfig(text_config=text, vision_config=vision)
    processor = BlipProcessor(
        image_processor=BlipImageProcessor(size={"height": 384, "width": 384}), tokenizer=tokenizer
    )
    _save(BlipForConditionalGeneration(config), processor, folder)


def build_blip_base(folder: Path) -> None:
    """Salesforce/blip-image-captioning-base: ViT-B/16 at 384 px + a 12-layer BERT decoder."""
    _build_blip(folder, large=False)


def build_blip_large(folder: Path) -> None:
    """Salesforce/blip-image-captioning-large: ViT-L/16 at 384 px + a 12-layer BERT decoder."""
    _build_blip(folder, large=True)


def build_florence2_base(folder: Path, capitals: bool = False) -> None:
    """florence-community/Florence-2-base-ft: DaViT (depths 1,1,9,1; 128..1024 wide) at 768 px, 577 image
    tokens, + BART-base (6+6 layers, 768 wide), with the 1000 location tokens. `capitals`: see
    _byte_level_vocab (the weights and the arithmetic are the same)."""
    from transformers import (
        BartTokenizer,
        CLIPImageProcessor,
        Florence2Config,
        Florence2ForConditionalGeneration,
        Florence2Processor,
    )

    vocab = _byte_level_vocab(["<s>", "<pad>", "</s>", "<unk>"], 50265, capitals)
    tokenizer = BartTokenizer(vocab=vocab, merges=[], extra_special_tokens={"image_token": "<image>"})
    tokenizer.add_tokens([f"<loc_{i}>" for i in range(1000)] + ["<od>", "</od>", "<ocr>", "</ocr>"])
    image_processor = CLIPImageProcessor(
        size={"height": 768, "width": 768}, do_center_crop=False, crop_size={"height": 768, "width": 768},
        image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225], resample=3, image_seq_length=577,
    )
    config = Florence2Config(
        text_config=dict(
            model_type="bart", vocab_size=len(tokenizer), d_model=768, encoder_layers=6, decoder_layers=6,
            encoder_attention_heads=12, decoder_attention_heads=12, encoder_ffn_dim=3072, decoder_ffn_dim=3072,
            max_position_embeddings=1024, bos_token_id=0, pad_token_id=1, eos_token_id=2,
            decoder_start_token_id=2, forced_bos_token_id=0,
        ),
        vision_config=dict(
            embed_dim=[128, 256, 512, 1024], num_heads=[4, 8, 16, 32], num_groups=[4, 8, 16, 32],
            depths=[1, 1, 9, 1], window_size=12, projection_dim=768, drop_path_rate=0.0,
        ),
        image_token_id=tokenizer.image_token_id,
    )
    post = {k: {} for k in ("pure_text", "description_with_bboxes", "bboxes", "ocr", "phrase_grounding",
                            "polygons", "description_with_polygons", "description_with_bboxes_or_polygons")}
    processor = Florence2Processor(image_processor=image_processor, tokenizer=tokenizer, post_processor_config=post)
    model = Florence2ForConditionalGeneration(config)
    model.generation_config.decoder_start_token_id = 2
    _save(model, processor, folder)


def build_distilvit(folder: Path) -> None:
    """Mozilla/distilvit: ViT-B/16 at 224 px encoder + distilgpt2 (6 layers, 768 wide) decoder."""
    from transformers import (
        GPT2Config,
        GPT2Tokenizer,
        ViTConfig,
        ViTImageProcessor,
        VisionEncoderDecoderConfig,
        VisionEncoderDecoderModel,
    )

    vocab = _byte_level_vocab(["<|endoftext|>"], 50257)
    tokenizer = GPT2Tokenizer(vocab=vocab, merges=[])
    eos = tokenizer.eos_token_id
    config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(
        ViTConfig(image_size=224, patch_size=16),
        GPT2Config(n_layer=6, bos_token_id=eos, eos_token_id=eos, add_cross_attention=True, is_decoder=True),
    )
    config.decoder_start_token_id = eos
    config.pad_token_id = eos
    model = VisionEncoderDecoderModel(config=config)
    model.generation_config.decoder_start_token_id = eos
    model.generation_config.pad_token_id = eos
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    ViTImageProcessor(size={"height": 224, "width": 224}).save_pretrained(folder)
    tokenizer.save_pretrained(folder)


BUILDERS: dict[str, Callable[[Path], None]] = {
    "git-base": build_git_base,
    "florence-2-base": build_florence2_base,
    "blip-base": build_blip_base,
    "blip-large": build_blip_large,
    "distilvit": build_distilvit,
}


def _save(model, processor, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)


# ----------------------------------------------------------------------------------------- image
def screen_image() -> Image.Image:
    """A 1280x720 screen-like picture: a photo-ish panel and some lines of text (so OCR has work)."""
    image = Image.new("RGB", (1280, 720), (240, 240, 240))
    draw = ImageDraw.Draw(image)
    for y in range(0, 400, 4):  # a gradient "photo"
        draw.line((700, 100 + y, 1200, 100 + y), fill=(30 + y // 3, 90, 200 - y // 3))
    draw.ellipse((820, 180, 1000, 360), fill=(220, 180, 40))
    try:
        font = ImageFont.load_default(size=28)
    except TypeError:  # Pillow < 10.1
        font = ImageFont.load_default()
    lines = ["Quarterly report", "Sales rose by 12 percent in March", "Open the attached file to see more",
             "Meeting moved to Thursday at 10", "Reply to all before Friday"]
    for i, text in enumerate(lines):
        draw.text((60, 100 + i * 70), text, fill=(20, 20, 20), font=font)
    return image


# ------------------------------------------------------------------------------------------ runs
def bench_model(name: str, folder: Path, precision: str, image: Image.Image, runs: int, detail: bool) -> dict:
    from describe_aloud.engine.captioners.hf import load_hf_captioner

    gc.collect()
    t0 = time.perf_counter()
    captioner = load_hf_captioner(str(folder), precision=precision)
    load_s = time.perf_counter() - t0
    params_m = sum(p.numel() for p in captioner.model.parameters()) / 1e6
    print(f"  loaded {name} in {precision}: {params_m:.0f}M parameters (int8 layers not counted)", flush=True)
    t0 = time.perf_counter()
    captioner.warm_up()
    warmup_s = time.perf_counter() - t0
    rows = {"caption": _runs(captioner, image, runs, detail=False)}
    if detail and "detailed" in captioner.capabilities:
        # What the app asks for on "more detail": caption + detailed caption + objects, one batch.
        rows["caption+detail+objects"] = _runs(captioner, image, runs, detail=True)
    out = {}
    for label, stages in rows.items():
        out[label] = {"load": load_s, "warmup": warmup_s, **stages, "resolved": captioner.precision}
    del captioner
    gc.collect()
    return out


def _runs(captioner, image: Image.Image, runs: int, *, detail: bool) -> dict[str, float]:
    samples: dict[str, list[float]] = {"preprocess": [], "vision": [], "decode": [], "caption": []}
    for _ in range(runs):
        t0 = time.perf_counter()
        (result,) = captioner.caption(
            [image], detail=detail, objects=detail, max_new_tokens=TOKENS, min_new_tokens=TOKENS
        )
        total = time.perf_counter() - t0
        for stage in ("preprocess", "vision", "decode"):
            samples[stage].append(result.timings_ms[stage] / 1000)
        samples["caption"].append(total)
    return {stage: statistics.median(values) for stage, values in samples.items()}


def bench_ocr(image: Image.Image, runs: int) -> float | None:
    try:
        from describe_aloud.engine.ocr import OcrEngine
    except ImportError as exc:
        print(f"OCR not measured: engine.ocr is not available ({exc}).")
        return None
    ocr = OcrEngine()
    ocr.warm_up()
    times = []
    lines = []
    for _ in range(runs):
        t0 = time.perf_counter()
        lines = ocr.read(image)
        times.append(time.perf_counter() - t0)
    print(f"OCR read {len(lines)} lines, e.g. {lines[0].text!r}" if lines else "OCR read no text")
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=",".join(CATALOG_NAMES), help="comma-separated catalog names")
    parser.add_argument("--precisions", default="fp32,auto", help="comma-separated: fp32, auto, bf16, int8")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per model and precision (median)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--detail", action="store_true", help="also time caption + detail + objects (Florence-2)")
    parser.add_argument("--no-ocr", action="store_true", help="skip the OCR timing")
    args = parser.parse_args(argv)
    print(f"CPU: {cpu_line()}; at start: {load_average()}", flush=True)

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in BUILDERS]
    if unknown:
        parser.error(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(BUILDERS)}")
    precisions = [p.strip() for p in args.precisions.split(",") if p.strip()]

    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    if args.threads:
        torch.set_num_threads(args.threads)
    from describe_aloud.engine.device import cpu_has_native_bf16

    print(
        f"torch {torch.__version__}, transformers {transformers.__version__}, {torch.get_num_threads()} threads, "
        f"{os.cpu_count()} CPUs, native bf16: {cpu_has_native_bf16()}; {TOKENS} tokens forced; "
        f"median of {args.runs} run(s); seconds"
    )
    image = screen_image()
    results: list[tuple[str, str, dict]] = []
    with tempfile.TemporaryDirectory(prefix="bench-captioners-") as tmp:
        for name in models:
            folder = Path(tmp) / name
            t0 = time.perf_counter()
            torch.manual_seed(0)
            BUILDERS[name](folder)
            print(f"built {name} (random weights) in {time.perf_counter() - t0:.1f} s", flush=True)
            for precision in precisions:
                for label, row in bench_model(name, folder, precision, image, args.runs, args.detail).items():
                    shown = name if label == "caption" else f"{name} ({label})"
                    results.append((shown, f"{precision}->{row['resolved']}", row))
                    _print_row(shown, results[-1][1], row)
            _remove_tree(folder)

    ocr_s = None if args.no_ocr else bench_ocr(image, args.runs)
    print()
    print("| model | precision | load | warmup | preprocess | vision | decode | caption total | OCR |")
    print("|---|---|---|---|---|---|---|---|---|")
    for shown, precision, row in results:
        ocr = f"{ocr_s:.2f}" if ocr_s is not None else "n/a"
        print(
            f"| {shown} | {precision} | {row['load']:.2f} | {row['warmup']:.2f} | {row['preprocess']:.3f} | "
            f"{row['vision']:.2f} | {row['decode']:.2f} | {row['caption']:.2f} | {ocr} |"
        )
    return 0


def _print_row(name: str, precision: str, row: dict) -> None:
    print(
        f"  {name:<28} {precision:<12} load {row['load']:.2f}  preprocess {row['preprocess']:.3f}  "
        f"vision {row['vision']:.2f}  decode {row['decode']:.2f}  caption {row['caption']:.2f}",
        flush=True,
    )


def _remove_tree(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
