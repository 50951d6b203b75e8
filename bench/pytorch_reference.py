#!/usr/bin/env python3
"""PyTorch timing of the network and step that `cargo bench --bench train_step` times.

The pix2pix U-Net (ngf 64, BatchNorm, dropout in decoder layers 4..n-2) with
its PatchGAN (ndf 64, 3 strided layers), Adam (lr 2e-4, betas 0.5/0.999) and
the pix2pix loss (BCE with logits + 100 * L1). One training iteration is a
discriminator step followed by a generator step, exactly as in unet-nas.

Usage (bench/run_pytorch.sh makes the venv):
    bench/.venv/bin/python bench/pytorch_reference.py [--threads N] [--repeats R]

Prints one JSON object per case on stdout, in the same shape as the Rust
benchmark, so the two can be joined into BENCHMARKS.md.
"""

import argparse
import json
import resource
import statistics
import time

import torch
from torch import nn


def encoder_layer(cin, cout, index, depth):
    layers = [] if index == 0 else [nn.LeakyReLU(0.2)]
    layers.append(nn.Conv2d(cin, cout, 4, stride=2, padding=1, bias=False))
    if 0 < index < depth - 1:
        layers.append(nn.BatchNorm2d(cout))
    return nn.Sequential(*layers)


def decoder_layer(cin, cout, index, depth):
    layers = [nn.ReLU(), nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1, bias=index == 0)]
    if index == 0:
        layers.append(nn.Tanh())
    else:
        layers.append(nn.BatchNorm2d(cout))
        if 4 <= index <= depth - 2:
            layers.append(nn.Dropout(0.5))
    return nn.Sequential(*layers)


class UNet(nn.Module):
    """The pix2pix U-Net as a flat list of layers with every skip kept."""

    def __init__(self, depth, channels=3):
        super().__init__()
        widths = [min(64 * 2 ** min(i, 3), 512) for i in range(depth)]
        self.encoder = nn.ModuleList(
            encoder_layer(channels if i == 0 else widths[i - 1], widths[i], i, depth) for i in range(depth)
        )
        decoder = []
        for j in range(depth):
            cin = widths[j] if j == depth - 1 else 2 * widths[j]
            cout = channels if j == 0 else widths[j - 1]
            decoder.append(decoder_layer(cin, cout, j, depth))
        self.decoder = nn.ModuleList(decoder)

    def forward(self, x):
        features = []
        for layer in self.encoder:
            x = layer(x)
            features.append(x)
        depth = len(self.encoder)
        for j in reversed(range(depth)):
            if j < depth - 1:
                x = torch.cat([features[j], x], 1)
            x = self.decoder[j](x)
        return x


def patchgan(channels=6, ndf=64, n_layers=3):
    layers = [nn.Conv2d(channels, ndf, 4, 2, 1), nn.LeakyReLU(0.2)]
    previous = ndf
    for n in range(1, n_layers + 1):
        width = ndf * min(2 ** n, 8)
        stride = 2 if n < n_layers else 1
        layers += [nn.Conv2d(previous, width, 4, stride, 1, bias=False), nn.BatchNorm2d(width), nn.LeakyReLU(0.2)]
        previous = width
    layers.append(nn.Conv2d(previous, 1, 4, 1, 1))
    return nn.Sequential(*layers)


def init_normal(module):
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def fitted_layers(side, n_layers=3):
    while n_layers > 1 and (side >> n_layers) < 3:
        n_layers -= 1
    return n_layers


def training_case(side, batch, repeats):
    depth = side.bit_length() - 1
    generator, discriminator = UNet(depth), patchgan(n_layers=fitted_layers(side))
    init_normal(generator)
    init_normal(discriminator)
    opt_g = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce, l1 = nn.BCEWithLogitsLoss(), nn.L1Loss()
    a = torch.rand(batch, 3, side, side) * 2 - 1
    b = torch.rand(batch, 3, side, side) * 2 - 1

    def iteration():
        fake = generator(a)
        for p in discriminator.parameters():
            p.requires_grad_(True)
        opt_d.zero_grad()
        pred_fake = discriminator(torch.cat([a, fake.detach()], 1))
        pred_real = discriminator(torch.cat([a, b], 1))
        loss_d = (bce(pred_fake, torch.zeros_like(pred_fake)) + bce(pred_real, torch.ones_like(pred_real))) * 0.5
        loss_d.backward()
        opt_d.step()
        for p in discriminator.parameters():
            p.requires_grad_(False)
        opt_g.zero_grad()
        pred = discriminator(torch.cat([a, fake], 1))
        loss_g = bce(pred, torch.ones_like(pred)) + 100.0 * l1(fake, b)
        loss_g.backward()
        opt_g.step()

    return timed(iteration, repeats)


def forward_case(side, batch, repeats):
    generator = UNet(side.bit_length() - 1)
    init_normal(generator)
    generator.eval()
    a = torch.rand(batch, 3, side, side) * 2 - 1

    def forward():
        with torch.no_grad():
            generator(a)

    return timed(forward, repeats)


def timed(work, repeats, warmup=2):
    for _ in range(warmup):
        work()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        samples.append((time.perf_counter() - start) * 1000.0)
    return samples


def profiled(work, repeats, warmup=2):
    """Runs `work` under torch.profiler and prints the operators by self CPU time."""
    from torch.profiler import ProfilerActivity, profile

    for _ in range(warmup):
        work()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(repeats):
            work()
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=25), flush=True)
    return [0.0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cases", default="train-64-1,train-64-4,train-128-1,forward-256-1")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="print torch.profiler's per-operator table for each case instead of timings",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    if args.profile:
        global timed
        timed = profiled

    for case in args.cases.split(","):
        kind, side, batch = case.split("-")
        run = training_case if kind == "train" else forward_case
        samples = run(int(side), int(batch), args.repeats)
        if args.profile:
            continue
        print(json.dumps({
            "framework": f"pytorch {torch.__version__}",
            "case": case,
            "threads": args.threads,
            "median_ms": statistics.median(samples),
            "min_ms": min(samples),
            "samples_ms": [round(s, 2) for s in samples],
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        }), flush=True)


if __name__ == "__main__":
    main()
