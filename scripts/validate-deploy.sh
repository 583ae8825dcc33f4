#!/usr/bin/env bash
# Offline validation of the deployment files (no Docker engine, no cluster):
#   - docker-compose.yml against the compose spec (check-jsonschema)
#   - every built-in Kubernetes manifest in k8s/ (kubernetes-validate --strict)
#   - the KEDA ScaledObject against the vendored KEDA CRD schema
#   - k8s/kustomization.yaml lists only existing files, and every manifest
#   - dashboards parse and query only metrics the Rust sources define
#   - names and flags the files rely on still exist in the code: JetStream
#     stream/consumers, role flags, WXFARM_* variables, the binary name
# Exits non-zero, listing every failure, if anything is wrong.
#
# Usage: scripts/validate-deploy.sh   (or `make validate-deploy`)
# Env:   WXFARM_SHARED  folder holding schemas/ (default: ../shared beside
#        the repository, as in CI); K8S_VERSION (default 1.29).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
SHARED="${WXFARM_SHARED:-$ROOT/../shared}"
KEDA_SCHEMA="$SHARED/schemas/keda-scaledobject-v2.20.schema.json"
K8S_VERSION="${K8S_VERSION:-1.29}"

failures=()
fail() { failures+=("$1"); echo "FAIL: $1" >&2; }
ok() { echo "ok:   $1"; }

# ---- tools: installed with pip --user only when missing ----------------------
PY="${PYTHON:-python3}"
USER_BIN="$("$PY" -m site --user-base 2>/dev/null)/bin"
export PATH="$USER_BIN:$PATH"
need_tool() { # need_tool COMMAND PYPI-PACKAGE
    if ! command -v "$1" >/dev/null 2>&1; then
        echo "installing $2 (pip --user)…"
        "$PY" -m pip install --user --quiet --disable-pip-version-check "$2" >/dev/null 2>&1 \
            || { fail "could not install $2 with pip"; return 1; }
        command -v "$1" >/dev/null 2>&1 || { fail "$1 not on PATH after installing $2"; return 1; }
    fi
}
have_cjs=1; have_kv=1
need_tool check-jsonschema check-jsonschema || have_cjs=0
need_tool kubernetes-validate kubernetes-validate || have_kv=0
"$PY" -c 'import yaml' 2>/dev/null || "$PY" -m pip install --user --quiet PyYAML >/dev/null 2>&1

# ---- compose ----------------------------------------------------------------
if [ "$have_cjs" = 1 ]; then
    if out=$(check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml 2>&1); then
        ok "docker-compose.yml matches the compose spec"
    else
        echo "$out" >&2
        fail "docker-compose.yml: compose spec"
    fi
fi

# ---- Kubernetes manifests ---------------------------------------------------
# Kinds come from the files; ScaledObject (a CRD) goes to the KEDA schema,
# everything else to kubernetes-validate. The file list is the kustomization's.
mapfile -t K8S_FILES < <("$PY" - <<'EOF'
import yaml
k = yaml.safe_load(open("k8s/kustomization.yaml"))
for r in k.get("resources", []):
    print(r)
EOF
)
if [ "${#K8S_FILES[@]}" -eq 0 ]; then
    fail "k8s/kustomization.yaml lists no resources"
fi
for f in "${K8S_FILES[@]}"; do
    path="k8s/$f"
    if [ ! -f "$path" ]; then
        fail "k8s/kustomization.yaml lists $f, which does not exist"
        continue
    fi
    kind=$("$PY" -c 'import sys,yaml; print(" ".join(sorted({d.get("kind","?") for d in yaml.safe_load_all(open(sys.argv[1])) if d})))' "$path" 2>&1) \
        || { fail "$path: not YAML ($kind)"; continue; }
    if [ "$kind" = "ScaledObject" ]; then
        if [ ! -f "$KEDA_SCHEMA" ]; then
            fail "$path: KEDA schema not found at $KEDA_SCHEMA (set WXFARM_SHARED)"
        elif [ "$have_cjs" = 1 ]; then
            if out=$(check-jsonschema --schemafile "$KEDA_SCHEMA" "$path" 2>&1); then
                ok "$path ($kind) matches the KEDA v2.20 schema"
            else
                echo "$out" >&2
                fail "$path: KEDA ScaledObject schema"
            fi
        fi
    elif [ "$have_kv" = 1 ]; then
        if out=$(kubernetes-validate --strict -k "$K8S_VERSION" "$path" 2>&1); then
            ok "$path ($kind) valid for Kubernetes $K8S_VERSION"
        else
            echo "$out" >&2
            fail "$path: kubernetes-validate --strict -k $K8S_VERSION"
        fi
    fi
done
# Every manifest beside the kustomization must be in it (a forgotten file
# would silently not be deployed).
for path in k8s/*.yaml; do
    f="${path#k8s/}"
    [ "$f" = kustomization.yaml ] && continue
    printf '%s\n' "${K8S_FILES[@]}" | grep -qxF "$f" || fail "$path is not listed in k8s/kustomization.yaml"
done
# Bonus, when kubectl is installed: the kustomization renders.
if command -v kubectl >/dev/null 2>&1; then
    if out=$(kubectl kustomize k8s/ 2>&1 >/dev/null); then
        ok "kubectl kustomize k8s/ renders"
    else
        echo "$out" >&2
        fail "kubectl kustomize k8s/"
    fi
else
    echo "skip: kubectl not installed (kustomize render not checked)"
fi

# ---- cross-checks against the code ------------------------------------------
# Dashboards vs metric names, ScaledObject vs JetStream names, role flags and
# WXFARM_* variables vs clap definitions, Dockerfile vs the [[bin]] name,
# compose bind mounts vs the tree, Grafana datasource uid.
if out=$("$PY" - "${K8S_FILES[@]}" <<'EOF' 2>&1
import glob, json, os, re, sys, tomllib
import yaml

errors = []
def err(msg): errors.append(msg)
def good(msg): print(f"ok:   {msg}")
# Manifests of the kustomization (missing ones are reported above).
manifests = [f for f in sys.argv[1:] if os.path.isfile(f"k8s/{f}")]

rust_files = [p for pat in ("src/**/*.rs", "*/src/**/*.rs") for p in glob.glob(pat, recursive=True)
              if not p.startswith("target/")]
rust = {p: open(p, encoding="utf-8").read() for p in rust_files}
all_rust = "\n".join(rust.values())
string_literals = set(re.findall(r'"([A-Za-z_][A-Za-z0-9_]*)"', all_rust))

# -- dashboards: every PromQL metric name is defined in the Rust sources -----
PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool",
    "and", "or", "unless", "offset", "inf", "nan", "le",
}
ALLOWED = {"up"}  # Prometheus' own per-target series
def metric_names(expr):
    e = re.sub(r'"(?:\\.|[^"\\])*"', '""', expr)      # string literals
    e = re.sub(r"\{[^}]*\}", "", e)                     # label matchers
    e = re.sub(r"\[[^\]]*\]", "", e)                    # range selectors
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", e)
    e = re.sub(r"\$\{?\w+\}?", "", e)                   # Grafana variables
    names = set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", e):
        word = m.group(0)
        rest = e[m.end():].lstrip()
        if rest.startswith("("):                         # a function
            continue
        if word.lower() in PROMQL_WORDS or re.fullmatch(r"\d.*", word):
            continue
        names.add(word)
    return names
def exprs(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "expr" and isinstance(v, str):
                yield v
            else:
                yield from exprs(v)
    elif isinstance(node, list):
        for v in node:
            yield from exprs(v)

prov_uids = set()
for p in glob.glob("deploy/grafana/provisioning/datasources/*.y*ml"):
    for ds in (yaml.safe_load(open(p)) or {}).get("datasources", []):
        if ds.get("uid"):
            prov_uids.add(ds["uid"])

dashboards = sorted(glob.glob("dashboards/*.json"))
if not dashboards:
    err("no dashboards/*.json")
for p in dashboards:
    try:
        d = json.load(open(p))
    except Exception as e:
        err(f"{p}: not JSON: {e}")
        continue
    found, unknown, n = set(), set(), 0
    for expr in exprs(d):
        n += 1
        for name in metric_names(expr):
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            if name in string_literals or base in string_literals or name in ALLOWED:
                found.add(base)
            else:
                unknown.add(name)
    if n == 0:
        err(f"{p}: no PromQL expressions")
    for u in sorted(unknown):
        err(f"{p}: metric {u} does not appear in the Rust sources")
    # Datasource references: the `datasource` variable, or a provisioned uid.
    var_names = {v.get("name") for v in d.get("templating", {}).get("list", [])}
    def ds_refs(node):
        if isinstance(node, dict):
            if isinstance(node.get("datasource"), dict):
                yield node["datasource"]
            for v in node.values():
                yield from ds_refs(v)
        elif isinstance(node, list):
            for v in node:
                yield from ds_refs(v)
    for ref in ds_refs(d.get("panels", [])):
        uid = str(ref.get("uid", ""))
        m = re.fullmatch(r"\$\{?(\w+)\}?", uid)
        if m and m.group(1) not in var_names:
            err(f"{p}: datasource variable {uid} is not defined in templating")
        elif not m and uid not in prov_uids:
            err(f"{p}: datasource uid {uid!r} is not provisioned ({sorted(prov_uids)})")
    for v in d.get("templating", {}).get("list", []):
        if v.get("type") == "datasource":
            cur = (v.get("current") or {}).get("value")
            if cur and cur not in prov_uids:
                err(f"{p}: variable {v['name']} defaults to {cur!r}, not a provisioned uid {sorted(prov_uids)}")
    if not unknown:
        good(f"{p}: {n} queries, metrics {', '.join(sorted(found))} all defined in the code")

# -- KEDA triggers name the real stream and consumers ------------------------
subjects = open("farm/src/subjects.rs").read()
stream = re.search(r'JOB_STREAM: &str = "([^"]+)"', subjects)
cons_fmt = re.search(r'fn consumer_name\(.*?format!\("([^"]*)\{\}"', subjects, re.S)
job_rs = open("protocol/src/job.rs").read()
prios = set(re.findall(r'Self::\w+ => "(\w+)"', job_rs))
consumers = {cons_fmt.group(1) + p for p in prios} if cons_fmt else set()
if not (stream and consumers):
    err("could not read the stream/consumer names from farm/src/subjects.rs")
else:
    for f in manifests:
        for doc in yaml.safe_load_all(open(f"k8s/{f}")):
            if not doc or doc.get("kind") != "ScaledObject":
                continue
            seen = set()
            for t in doc["spec"].get("triggers", []):
                if t.get("type") != "nats-jetstream":
                    continue
                md = t.get("metadata", {})
                if md.get("stream") != stream.group(1):
                    err(f"k8s/{f}: stream {md.get('stream')!r}, code says {stream.group(1)!r}")
                if md.get("consumer") not in consumers:
                    err(f"k8s/{f}: consumer {md.get('consumer')!r} not one of {sorted(consumers)}")
                if not str(md.get("natsServerMonitoringEndpoint", "")).endswith(":8222"):
                    err(f"k8s/{f}: natsServerMonitoringEndpoint should be the monitoring port 8222")
                seen.add(md.get("consumer"))
            if seen != consumers:
                err(f"k8s/{f}: triggers cover {sorted(seen)}, consumers are {sorted(consumers)}")
            else:
                good(f"k8s/{f}: triggers on {stream.group(1)} / {', '.join(sorted(seen))}")

# -- role flags and WXFARM_* variables exist in the clap definitions ---------
fields = set(re.findall(r"\b(?:pub\s+)?([a-z][a-z0-9_]*)\s*:", all_rust))
envs = set(re.findall(r'env\s*=\s*"([A-Z0-9_]+)"', all_rust))
used_flags, used_envs = {}, {}
compose = yaml.safe_load(open("docker-compose.yml"))
for name, svc in compose.get("services", {}).items():
    if not str(svc.get("image", "")).startswith("wxfarm"):
        continue
    cmd = svc.get("command") or []
    cmd = cmd if isinstance(cmd, list) else cmd.split()
    for word in " ".join(map(str, cmd)).split():
        if word.startswith("--"):
            used_flags.setdefault(word.split("=")[0], f"docker-compose.yml:{name}")
    for k in (svc.get("environment") or {}):
        if k.startswith("WXFARM_"):
            used_envs.setdefault(k, f"docker-compose.yml:{name}")
for f in manifests:
    for doc in yaml.safe_load_all(open(f"k8s/{f}")):
        if not doc:
            continue
        if doc.get("kind") == "ConfigMap":
            for k in doc.get("data") or {}:
                if k.startswith("WXFARM_"):
                    used_envs.setdefault(k, f"k8s/{f}")
        spec = ((doc.get("spec") or {}).get("template") or {}).get("spec") or {}
        for c in spec.get("containers", []):
            for a in (c.get("args") or []) + (c.get("command") or []):
                if str(a).startswith("--"):
                    used_flags.setdefault(str(a).split("=")[0], f"k8s/{f}")
            for e in c.get("env") or []:
                if e["name"].startswith("WXFARM_"):
                    used_envs.setdefault(e["name"], f"k8s/{f}")
bad = False
for flag, where in sorted(used_flags.items()):
    if flag[2:].replace("-", "_") not in fields:
        err(f"{where}: flag {flag} is not a field of any clap Args struct"); bad = True
for env, where in sorted(used_envs.items()):
    if env not in envs:
        err(f"{where}: {env} is not read by any clap argument (env = \"…\")"); bad = True
if not bad:
    good(f"flags {' '.join(sorted(used_flags))} and {' '.join(sorted(used_envs))} exist in the code")

# -- the Dockerfile builds and runs the [[bin]] of Cargo.toml -----------------
cargo = tomllib.load(open("Cargo.toml", "rb"))
bins = [b["name"] for b in cargo.get("bin", [])] or [cargo["package"]["name"]]
docker = open("Dockerfile").read()
for b in bins:
    wanted = {f"--bin {b}": rf"--bin\s+{re.escape(b)}(?![\w-])",
              f"target/release/{b}": rf"target/release/{re.escape(b)}(?![\w-])",
              f'ENTRYPOINT ["{b}"]': rf'ENTRYPOINT\s*\[\s*"{re.escape(b)}"'}
    missing = [k for k, rx in wanted.items() if not re.search(rx, docker)]
    if missing:
        err(f"Dockerfile: Cargo.toml's bin {b!r} but the Dockerfile lacks {missing}")
    else:
        good(f"Dockerfile builds and runs bin {b!r}")

# -- compose bind mounts exist ------------------------------------------------
for name, svc in compose.get("services", {}).items():
    for v in svc.get("volumes") or []:
        src = v.split(":")[0] if isinstance(v, str) else v.get("source", "")
        if src.startswith(".") and not os.path.exists(src):
            err(f"docker-compose.yml:{name}: bind mount {src} does not exist")
    b = svc.get("build")
    ctx = b if isinstance(b, str) else (b or {}).get("context")
    if ctx and not os.path.exists(os.path.join(ctx, "Dockerfile")):
        err(f"docker-compose.yml:{name}: no Dockerfile in build context {ctx}")
for p in ["deploy/prometheus.yml", *glob.glob("deploy/grafana/provisioning/*/*.y*ml")]:
    try:
        yaml.safe_load(open(p))
    except Exception as e:
        err(f"{p}: not YAML: {e}")

for e in errors:
    print(f"FAIL: {e}", file=sys.stderr)
sys.exit(1 if errors else 0)
EOF
); then
    echo "$out"
else
    echo "$out"
    fail "cross-checks against the code (see FAIL lines above)"
fi

# ---- summary ----------------------------------------------------------------
echo
if [ "${#failures[@]}" -gt 0 ]; then
    echo "validate-deploy: ${#failures[@]} failure(s):" >&2
    printf '  - %s\n' "${failures[@]}" >&2
    exit 1
fi
echo "validate-deploy: all checks passed"
