"""The bookkeeping of demo_benchmark.sh: settings keys, result lines, the held-back sweep list and
the table. Every result line carries the settings it was made with (and their id), so a folder
that holds runs of other settings is resumed, never mixed.

Usage:
  demo_results.py settings-id SETTINGS_JSON
  demo_results.py sweep-list DATA N SEED           (writes ImageSets/Segmentation/train_sweep.txt)
  demo_results.py has RESULTS SETTINGS_ID RUN METHOD FLAGS SEED (exit 0 when that result is there)
  demo_results.py record RESULTS --settings JSON --run NAME ... (see `record --help`)
  demo_results.py has-refined RESULTS SETTINGS_ID RUN METHOD FLAGS SEED
  demo_results.py record-refined RESULTS --settings JSON --run NAME ... (see `record-refined --help`)
  demo_results.py table RESULTS SETTINGS_ID
"""
import argparse
import hashlib
import json
import os
import random
import statistics
import sys

SUPERVISED = "supervised"
WEAK_AIMS = ("afa", "acr")  # the issue's aims: each ≥ cam + 5 with the gap above the seeds' spread


def settings_id(settings):
    canonical = json.dumps(settings, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


REFINED = "refined"  # the "kind" of a line scoring a run's masks refined by PAR + CRF (a run's own line has none)


def read_results(path):
    if not os.path.exists(path):
        return []
    rows = []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:  # a line cut by a killed run: the run is redone
                print("demo benchmark: %s line %d is not JSON; ignored" % (path, number), file=sys.stderr)
    return rows


def cmd_settings_id(a):
    print(settings_id(json.loads(a.settings)))


def cmd_sweep_list(a):
    # A fixed subset of train (seeded, in list order): the background threshold is chosen on it.
    split_dir = os.path.join(a.data, "ImageSets", "Segmentation")
    with open(os.path.join(split_dir, "train.txt")) as f:
        ids = [line.strip() for line in f if line.strip()]
    if a.n > len(ids):
        sys.exit("demo benchmark: the sweep subset (%d) is larger than train (%d)" % (a.n, len(ids)))
    chosen = set(random.Random(a.seed).sample(ids, a.n))
    text = "".join(i + "\n" for i in ids if i in chosen)
    path = os.path.join(split_dir, "train_sweep.txt")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def has(a, kind):
    for r in read_results(a.results):
        if r.get("kind") == kind and (r.get("settings_id"), r.get("run"), r.get("method"), r.get("flags"), r.get("seed")) == \
                (a.settings_id, a.run, a.method, a.flags, a.seed):
            return True
    return False


def cmd_has(a):
    sys.exit(0 if has(a, None) else 1)


def cmd_has_refined(a):
    sys.exit(0 if has(a, REFINED) else 1)


def load(path):
    with open(path) as f:
        return json.load(f)


def cmd_record(a):
    settings = json.loads(a.settings)
    val = load(a.val_eval)
    manifest = load(a.val_manifest)
    sweep = load(a.sweep_eval) if a.sweep_eval else None
    own = a.rule == "own"
    row = {
        "settings_id": settings_id(settings), "run": a.run, "method": a.method, "flags": a.flags, "seed": a.seed,
        "rule": "own background (argmax)" if own else "background threshold",
        "threshold": None, "threshold_chosen_on": None,
        "val_miou": None,  # the protocol's figure: at the threshold chosen on train_sweep (old: val-best)
        "val_miou_masks": val["miou"],  # mIoU of the masks infer wrote for val
        "val_best_miou": val.get("best_miou"), "val_best_threshold": val.get("best_bg_threshold"),
        "fpr": val["fpr"], "fnr": val["fnr"],
        # Where each labelled class's map peaks (`eval --sweep`'s pointing game): on its own item.
        "pointing_on_item": (val.get("pointing") or {}).get("on_item"),
        "train_sweep_best_miou": sweep.get("best_miou") if sweep else None,
        "train_seconds": a.train_seconds, "manifest_rule": manifest.get("rule"), "map": manifest.get("map"),
        "wsss_sha256": a.wsss_sha, "threads": os.environ.get("WSSS_THREADS"), "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
        "settings": settings,
    }
    if own:
        row["val_miou"] = val["miou"]
    elif settings["protocol"] == "old":
        row["val_miou"], row["threshold"], row["threshold_chosen_on"] = val["best_miou"], val["best_bg_threshold"], "val"
    else:
        row["threshold"], row["threshold_chosen_on"] = sweep["best_bg_threshold"], "train_sweep"
        row["val_miou"] = val["miou"]
        # The val sweep at the same threshold scores the same maps by the same rule: a check of
        # the pipeline (the masks were written at that threshold).
        at = val["sweep"][int(round(100 * row["threshold"]))]
        if abs(at - val["miou"]) > 1e-4:
            print("demo benchmark: warning: %s seed %d: the masks score %.4f, the sweep at %.2f %.4f"
                  % (a.run, a.seed, val["miou"], row["threshold"], at), file=sys.stderr)
    with open(a.results, "a") as f:
        f.write(json.dumps(row) + "\n")
    print("demo benchmark: %s seed %d: val mIoU %.1f (%s), train %d s"
          % (a.run, a.seed, 100 * row["val_miou"],
             "own background" if own else "threshold %.2f on %s" % (row["threshold"], row["threshold_chosen_on"]),
             a.train_seconds))


def cmd_record_refined(a):
    # The same checkpoint's masks refined as `wsss infer --par --crf` writes them: for a threshold
    # rule at the threshold the refined sweep of train_sweep chose (eval --sweep --par --crf).
    settings = json.loads(a.settings)
    val = load(a.val_eval)
    manifest = load(a.val_manifest)
    own = a.rule == "own"
    sweep = None if own else load(a.sweep_eval)
    row = {
        "kind": REFINED, "settings_id": settings_id(settings), "run": a.run, "method": a.method, "flags": a.flags,
        "seed": a.seed, "rule": "own background (argmax)" if own else "background threshold",
        "refinement": {"par_iterations": manifest["rule"]["par_iterations"], "crf": manifest["rule"]["crf"],
                       "crf_preset": manifest["rule"].get("crf_preset", "psa")},
        "threshold": None if own else sweep["best_bg_threshold"],
        "threshold_chosen_on": None if own else "train_sweep",
        "val_miou": val["miou"], "fpr": val["fpr"], "fnr": val["fnr"],
        "train_sweep_best_miou": None if own else sweep["best_miou"],
        "wsss_sha256": a.wsss_sha, "settings": settings,
    }
    if not own and abs(manifest["rule"]["bg_threshold"] - row["threshold"]) > 1e-6:
        sys.exit("demo benchmark: %s seed %d: val was refined at %s, not at the chosen %s"
                 % (a.run, a.seed, manifest["rule"]["bg_threshold"], row["threshold"]))
    with open(a.results, "a") as f:
        f.write(json.dumps(row) + "\n")
    print("demo benchmark: %s seed %d refined (PAR + CRF): val mIoU %.1f (%s)"
          % (a.run, a.seed, 100 * row["val_miou"],
             "own background" if own else "threshold %.2f on train_sweep" % row["threshold"]))


def mean_sd(values):
    m = statistics.mean(values)
    return m, (statistics.stdev(values) if len(values) > 1 else 0.0)


def pm(values, scale=100.0, digits=1):
    m, s = mean_sd([scale * v for v in values])
    if len(values) == 1:
        return "%.*f" % (digits, m)
    return "%.*f ± %.*f" % (digits, m, digits, s)


def weak_aims(mean, sd, upper, upper_note=None):
    """The issue's aims on the weak methods, from each run's mean and SD over seeds: `afa` and `acr`
    each ≥ cam + 5 beyond the spread, the best weak run ≥ 0.7 × `upper` (supervised's mean)."""
    def verdict(ok):
        return "met" if ok else "missed"

    checks = []
    cams = [n for n in mean if n.startswith("cam")]
    cam = max(cams, key=lambda n: mean[n]) if cams else None
    for name in WEAK_AIMS:
        if name not in mean or cam is None:
            checks.append("%s ≥ cam + 5: n/a (no %s run)" % (name, name if name not in mean else "cam"))
            continue
        gap = 100 * (mean[name] - mean[cam])
        spread = 100 * (sd[name] + sd[cam])
        checks.append("%s − %s = %+.1f ≥ 5 and > spread %.1f: %s"
                      % (name, cam, gap, spread, verdict(gap >= 5 and gap > spread)))
    weak = [n for n in mean if n != SUPERVISED]
    if weak and upper:
        best = max(weak, key=lambda n: mean[n])
        checks.append("best weak %s %.1f ≥ 0.7 × supervised (%.1f%s): %s"
                      % (best, 100 * mean[best], 70 * upper, ", " + upper_note if upper_note else "",
                         verdict(mean[best] >= 0.7 * upper)))
    else:
        checks.append("best weak ≥ 0.7 × supervised: n/a")
    return checks


def cmd_table(a):
    everything = [r for r in read_results(a.results) if r.get("settings_id") == a.settings_id]
    rows = [r for r in everything if r.get("kind") is None]
    refined_rows = [r for r in everything if r.get("kind") == REFINED]
    others = sum(1 for r in read_results(a.results) if r.get("settings_id") != a.settings_id)
    if not rows:
        print("demo benchmark: no result of these settings (%s) in %s" % (a.settings_id, a.results))
        return
    settings = rows[0]["settings"]
    old = settings["protocol"] == "old"
    # One row per run (name, method and flags; the name alone where it is unambiguous), one line per
    # seed: a later line of the same run and seed wins.
    variants = {}
    for r in rows:
        variants.setdefault(r["run"], set()).add((r["method"], r["flags"]))
    runs = {}
    for r in rows:
        name = r["run"] if len(variants[r["run"]]) == 1 else "%s (%s %s)" % (r["run"], r["method"], r["flags"])
        runs.setdefault(name, {})[r["seed"]] = r
    by_run = {name: [seeds[s] for s in sorted(seeds)] for name, seeds in runs.items()}
    mean = {name: statistics.mean(r["val_miou"] for r in rs) for name, rs in by_run.items()}
    sd = {name: mean_sd([r["val_miou"] for r in rs])[1] for name, rs in by_run.items()}
    upper = mean.get(SUPERVISED)

    d = settings["data"]
    print("# demo benchmark, %s protocol (settings %s): data %d train / %d val at %d px; train at %d px, infer at %s; "
          "%d iters × batch %d; weights %s"
          % (settings["protocol"], a.settings_id, d["train"], d["val"], d["size"], settings["train_size"],
             settings["infer_size"] if isinstance(settings["infer_size"], str) else "%d px" % settings["infer_size"],
             settings["iters"], settings["batch"], settings["weights"])
          + ("; training in %s" % settings["precision"] if "precision" in settings else ""))
    if old:
        print("# background threshold: the val-best one (old protocol); mean ± SD over seeds")
        main_header = "val mIoU (val-best threshold)"
    else:
        print("# background threshold: chosen on train_sweep (%d train images), never on val; mean ± SD over seeds"
              % d["sweep"])
        main_header = "val mIoU (train-chosen threshold)"
    print("| run | seeds | %s | val-best mIoU | threshold | FPR / FNR | ratio to supervised | maps peaking on their item "
          "| train time |" % main_header)
    print("|---|---|---|---|---|---|---|---|---|")
    order = ["cam_gap", "cam_gmp", "afa", "acr", SUPERVISED]
    for name in sorted(by_run, key=lambda n: (order.index(n) if n in order else len(order), n)):
        rs = by_run[name]
        own = all(r["threshold"] is None for r in rs)
        if own:
            best, threshold = "—", "own background (argmax)"
        else:
            best = pm([r["val_best_miou"] for r in rs])
            chosen = "/".join("%.2f" % r["threshold"] for r in rs)
            threshold = chosen if old else "%s (val-best %s)" % (chosen, "/".join("%.2f" % r["val_best_threshold"] for r in rs))
        ratio = "%.2f" % (mean[name] / upper) if upper else "—"
        t, tsd = mean_sd([r["train_seconds"] for r in rs])
        pointing = [r.get("pointing_on_item") for r in rs]
        pointing = "%s %%" % pm(pointing) if all(v is not None for v in pointing) else "—"
        print("| %s | %s | %s | %s | %s | %s / %s | %s | %s | %d%s s |"
              % (name, ",".join(str(r["seed"]) for r in rs), pm([r["val_miou"] for r in rs]), best, threshold,
                 pm([r["fpr"] for r in rs], 1, 2), pm([r["fnr"] for r in rs], 1, 2), ratio, pointing, t,
                 " ± %d" % tsd if len(rs) > 1 else ""))
    if others:
        print("# %s also holds %d result(s) of other settings, not shown" % (a.results, others))

    # The aims, on the mean over seeds. `cam` is the better of the cam runs here.
    def verdict(ok):
        return "met" if ok else "missed"

    checks = []
    if upper is not None:
        checks.append("supervised %.1f ≥ 50: %s" % (100 * upper, verdict(100 * upper >= 50)))
    else:
        checks.append("supervised ≥ 50: n/a (no supervised run)")
    checks += weak_aims(mean, sd, upper)
    print("# the issue's aims on the means over seeds (cam: the better cam run; spread: the sum of the two runs' SDs)")
    for check in checks:
        print("aim: " + check)
    if refined_rows:
        refined_table(refined_rows, by_run, mean, upper)


def refined_table(rows, raw_by_run, raw_mean, upper):
    """The runs' masks refined by PAR + CRF (`infer --par --crf`), the threshold chosen on train_sweep
    by `eval --sweep --par --crf`; beside the unrefined figure of the same seeds."""
    runs = {}
    for r in rows:
        name = r["run"] if r["run"] in raw_by_run else "%s (%s %s)" % (r["run"], r["method"], r["flags"])
        runs.setdefault(name, {})[r["seed"]] = r
    by_run = {name: [seeds[s] for s in sorted(seeds)] for name, seeds in runs.items()}
    mean = {name: statistics.mean(r["val_miou"] for r in rs) for name, rs in by_run.items()}
    sd = {name: mean_sd([r["val_miou"] for r in rs])[1] for name, rs in by_run.items()}
    print()
    print("# refined masks: PAR (10 iterations) then the dense CRF, as `wsss infer --par --crf` writes them; "
          "the threshold chosen on train_sweep by `wsss eval --sweep --par --crf`")
    print("| run | seeds | val mIoU, refined | unrefined, same seeds | gain | threshold | FPR / FNR | ratio to supervised (unrefined) |")
    print("|---|---|---|---|---|---|---|---|")
    order = ["cam_gap", "cam_gmp", "afa", "acr", SUPERVISED]
    for name in sorted(by_run, key=lambda n: (order.index(n) if n in order else len(order), n)):
        rs = by_run[name]
        raw = {r["seed"]: r for r in raw_by_run.get(name, [])}
        paired = [(r, raw[r["seed"]]) for r in rs if r["seed"] in raw]
        unrefined = pm([q["val_miou"] for _, q in paired]) if paired else "—"
        gain = pm([r["val_miou"] - q["val_miou"] for r, q in paired]) if paired else "—"
        own = all(r["threshold"] is None for r in rs)
        threshold = "own background (argmax)" if own else "/".join("%.2f" % r["threshold"] for r in rs)
        ratio = "%.2f" % (mean[name] / upper) if upper else "—"
        print("| %s | %s | %s | %s | %s | %s | %s / %s | %s |"
              % (name, ",".join(str(r["seed"]) for r in rs), pm([r["val_miou"] for r in rs]), unrefined, gain,
                 threshold, pm([r["fpr"] for r in rs], 1, 2), pm([r["fnr"] for r in rs], 1, 2), ratio))
    checks = weak_aims(mean, sd, upper, "its network's masks")
    if SUPERVISED in mean and checks[-1].startswith("best weak ") and not checks[-1].endswith("n/a"):
        best = max((n for n in mean if n != SUPERVISED), key=lambda n: mean[n])
        checks[-1] += "; against supervised refined too (%.1f): %.2f ×" % (100 * mean[SUPERVISED],
                                                                           mean[best] / mean[SUPERVISED])
    print("# the aims on the refined masks' means over seeds")
    for check in checks:
        print("aim, refined: " + check)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("settings-id")
    s.add_argument("settings")
    s.set_defaults(fn=cmd_settings_id)
    s = sub.add_parser("sweep-list")
    s.add_argument("data")
    s.add_argument("n", type=int)
    s.add_argument("seed", type=int)
    s.set_defaults(fn=cmd_sweep_list)
    def run_key(s):  # RESULTS SETTINGS_ID RUN METHOD FLAGS SEED: which result line
        for name in ("results", "settings_id", "run", "method", "flags"):
            s.add_argument(name)
        s.add_argument("seed", type=int)

    def run_record(s):  # what every recorded line names
        s.add_argument("results")
        s.add_argument("--settings", required=True)
        s.add_argument("--run", required=True)
        s.add_argument("--method", required=True)
        s.add_argument("--flags", default="")
        s.add_argument("--seed", type=int, required=True)
        s.add_argument("--wsss-sha", default=None, help="the wsss binary's hash (the first 16 hex digits)")
        s.add_argument("--rule", choices=("own", "threshold"), required=True)

    s = sub.add_parser("has")
    run_key(s)
    s.set_defaults(fn=cmd_has)
    s = sub.add_parser("record")
    run_record(s)
    s.add_argument("--train-seconds", type=int, required=True)
    s.add_argument("--sweep-eval", help="eval --json --sweep of train_sweep (new protocol, threshold rule)")
    s.add_argument("--val-eval", required=True)
    s.add_argument("--val-manifest", required=True)
    s.set_defaults(fn=cmd_record)
    s = sub.add_parser("has-refined")
    run_key(s)
    s.set_defaults(fn=cmd_has_refined)
    s = sub.add_parser("record-refined")
    run_record(s)
    s.add_argument("--sweep-eval", help="eval --json --sweep --par --crf of train_sweep (threshold rule)")
    s.add_argument("--val-eval", required=True, help="eval --json of val's refined masks")
    s.add_argument("--val-manifest", required=True, help="their infer manifest (the rule they were written with)")
    s.set_defaults(fn=cmd_record_refined)
    s = sub.add_parser("table")
    s.add_argument("results")
    s.add_argument("settings_id")
    s.set_defaults(fn=cmd_table)
    a = p.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
