"""Cold start of each function: its INIT phase, and INIT plus the first-use client setup.

Every sample is a fresh interpreter (`python -S -c ...`) whose import path is what Lambda
gives the function: `functions/<fn>`, the common layer, and a directory holding only the
runtime dependencies (layers/deps/requirements.txt plus boto3 and their dependencies,
symlinked from the venv) — so nothing the dev venv has installed besides them can be
imported, by us or by the X-Ray SDK's `patch_all`. The environment is the template's for
the function (dummy resource names) plus the variables the Lambda runtime sets, so the
Powertools Tracer is enabled as it is with the template's `Tracing` parameter set to
`Active` (the slower start; `--tracing PassThrough`, the template's default, turns tracing
off). Nothing calls AWS.

The baseline is a bare script in the same kind of interpreter that imports boto3 and
creates the clients the function needs. The figure that matters is the ratio of
"import + clients" to that baseline (target <= 1.3).

    .venv/bin/python bench/cold_start.py [--runs 7] [--importtime] [--tracing PassThrough]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
LAYER = ROOT / "layers" / "common" / "python"
TARGET = 1.3
FUNCTIONS = {"api": "ApiFunction", "authorizer": "AuthorizerFunction", "sender": "SenderFunction"}
REGION = "us-east-1"
ACCOUNT = "123456789012"
DUMMY_QUEUE_URL = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/smsgw-SendQueue-DUMMY"

# What each function builds on first use (the module-level caches in smsgw.services, and
# for the sender what `sender.dispatcher()` builds around its one Secrets Manager call).
FIRST_USE = {
    "api": """
from smsgw import services
services.tenants(); services.messages(); services.idempotency()
services.send_queue(); services.send_limits()
""",
    "authorizer": """
from smsgw import services
services.tenants()
""",
    "sender": """
from smsgw import services
services.claims(); services.tenants(); services.send_queue(); services.send_limits()
from aws_lambda_powertools.utilities import parameters
from smsgw.dal import aws
parameters.SecretsProvider(boto3_client=aws.secretsmanager())
from smsgw.carriers.twilio import TwilioCarrier
from smsgw.observability import tracer
tracer.patch(["requests"])
TwilioCarrier("AC00000000000000000000000000000000", "token", "http://127.0.0.1:9")
""",
}
BASELINE_CLIENTS = {
    "api": ["dynamodb", "sqs"],
    "authorizer": ["dynamodb"],
    "sender": ["dynamodb", "sqs", "secretsmanager"],
}

_PROBE = """
import time
t0 = time.perf_counter()
{import_code}
t1 = time.perf_counter()
{setup_code}
t2 = time.perf_counter()
import json, sys
print(json.dumps({{"import": t1 - t0, "total": t2 - t0, "xray": "aws_xray_sdk" in sys.modules}}))
"""


def runtime_site(target: Path) -> Path:
    """A site directory with only the functions' runtime dependencies, as symlinks."""
    requirements = (ROOT / "layers" / "deps" / "requirements.txt").read_text().splitlines()
    pending = [Requirement(line).name for line in requirements if line.split("#")[0].strip()]
    pending.append("boto3")  # comes with the Lambda runtime
    seen: set[str] = set()
    while pending:
        name = pending.pop().lower().replace("_", "-")
        if name in seen:
            continue
        seen.add(name)
        dist = metadata.distribution(name)
        for spec in dist.requires or []:
            requirement = Requirement(spec)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(requirement.name)
        base = Path(str(dist.locate_file("")))
        for top in {Path(str(f)).parts[0] for f in dist.files or []}:
            if top.endswith((".dist-info", ".pth")) or top in ("..", "__pycache__", "bin"):
                continue
            link = target / top
            if (base / top).exists() and not link.exists():
                link.symlink_to(base / top)
    return target


@cache
def _template() -> Any:
    from smsgw_tools.template.loading import load

    logging.getLogger("samtranslator").setLevel(logging.ERROR)  # its metrics nag at exit
    return load(region=REGION)


def function_environment(logical_id: str, tracing: str = "Active") -> dict[str, str]:
    """The function's environment from template.yaml, with dummy physical ids."""
    from smsgw_tools.local.resources import Stack

    template = _template()
    stack = Stack(
        name="smsgw",
        region=REGION,
        account_id=ACCOUNT,
        template=template,
        # Tracing Active by default, the slower start (the Tracer and X-Ray SDK load); the
        # template's default, PassThrough, starts with tracing off (--tracing PassThrough).
        parameters=template.parameter_defaults() | {"Tracing": tracing},
        physical_ids={
            "Table": "smsgw-Table-DUMMY",
            "SendQueue": DUMMY_QUEUE_URL,
            "CallbackQueue": DUMMY_QUEUE_URL.replace("SendQueue", "CallbackQueue"),
        },
    )
    return stack.function_environment(logical_id)


def lambda_environment(function: str, site: Path) -> dict[str, str]:
    """What the Lambda runtime sets, plus dummy credentials; no inherited variables."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "functions" / function), str(LAYER), str(site)]),
        "LAMBDA_TASK_ROOT": str(ROOT / "functions" / function),
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_LAMBDA_FUNCTION_NAME": f"smsgw-{function}",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        # Set by Lambda when the function has Tracing: Active.
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000",
        "_AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129",
        "_AWS_XRAY_DAEMON_PORT": "2000",
    }


def baseline_setup(function: str) -> str:
    lines = []
    for service in BASELINE_CLIENTS[function]:
        if service == "dynamodb":
            lines.append("boto3.resource('dynamodb').Table('smsgw-Table-DUMMY')")
        else:
            lines.append(f"boto3.client({service!r})")
    return "\n".join(lines)


def sample(code: str, env: dict[str, str], flags: tuple[str, ...] = ()) -> dict:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-S", "-s", *flags, "-c", code],
        env=env,
        cwd=env["LAMBDA_TASK_ROOT"],
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"probe failed:\n{done.stderr}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return {**figures, "wall": wall, "stderr": done.stderr}


def median_ms(samples: list[dict], key: str) -> float:
    return statistics.median(s[key] for s in samples) * 1000


def import_profile(code: str, env: dict[str, str]) -> dict[str, tuple[float, str]]:
    """Per top-level package: its import self time (ms) in one `-X importtime` run and the
    chain of modules through which it was first imported."""
    rows = []
    for line in sample(code, env, ("-X", "importtime"))["stderr"].splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+\d+ \|( *)(\S+)", line)
        if match:
            rows.append((int(match.group(1)) / 1000, len(match.group(2)) // 2, match.group(3)))
    profile: dict[str, tuple[float, str]] = {}
    for index, (self_ms, depth, name) in enumerate(rows):
        package = name.split(".")[0]
        spent, chain = profile.get(package, (0.0, ""))
        if not chain or name == package:
            # importtime lists children before their parent: walk forwards to the ancestors.
            names, level = [name], depth
            for _, parent_depth, parent in rows[index + 1 :]:
                if parent_depth < level:
                    names.append(parent)
                    level = parent_depth
            chain = " <- ".join(names[:6])
        profile[package] = (spent + self_ms, chain)
    return profile


def print_extra_imports(function: str, code: str, base: str, env: dict[str, str]) -> None:
    """The packages a function imports beyond the baseline, costliest first."""
    extra = import_profile(code, env)
    baseline = import_profile(base, env)
    rows = sorted(
        (
            (spent - baseline.get(package, (0.0, ""))[0], package, chain)
            for package, (spent, chain) in extra.items()
        ),
        reverse=True,
    )
    print(f"\n{function}: import self time beyond the baseline, ms (-X importtime inflates it)")
    for delta, package, chain in rows[:10]:
        if delta >= 2:
            print(f"  {delta:6.1f}  {package:<22} {chain}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="fresh interpreters per figure")
    parser.add_argument(
        "--importtime",
        action="store_true",
        help="also print each function's slowest imports (python -X importtime)",
    )
    parser.add_argument(
        "--tracing",
        choices=("Active", "PassThrough"),
        default="Active",
        help="the template's Tracing parameter (default Active, the slower start)",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="smsgw-site-") as tmp:
        site = runtime_site(Path(tmp))
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, {args.runs} runs each")
        header = (
            f"{'function':<11}{'import':>9}{'+clients':>10}{'baseline':>10}"
            f"{'ratio':>7}{'wall':>8}{'xray':>6}"
        )
        print(header + "   (median ms; ratio = import+clients / baseline)")
        over = []
        for function, logical_id in FUNCTIONS.items():
            env = lambda_environment(function, site) | function_environment(
                logical_id, args.tracing
            )
            code = _PROBE.format(import_code="import app", setup_code=FIRST_USE[function])
            base = _PROBE.format(import_code="import boto3", setup_code=baseline_setup(function))
            # Interleave so that machine noise hits function and baseline alike.
            runs, baseline = [], []
            for _ in range(args.runs):
                runs.append(sample(code, env))
                baseline.append(sample(base, env))
            ratio = median_ms(runs, "total") / median_ms(baseline, "total")
            print(
                f"{function:<11}{median_ms(runs, 'import'):>9.0f}{median_ms(runs, 'total'):>10.0f}"
                f"{median_ms(baseline, 'total'):>10.0f}{ratio:>7.2f}"
                f"{median_ms(runs, 'wall'):>8.0f}{'yes' if runs[0]['xray'] else 'no':>6}"
                f"   {'ok' if ratio <= TARGET else 'OVER TARGET'}"
            )
            if ratio > TARGET:
                over.append((function, env, code, base))
        if args.importtime:
            for function, env, code, base in over:
                print_extra_imports(function, code, base, env)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
