"""Command line: ``opioidsocial simulate`` writes the demo's simulated datasets;
``opioidsocial import`` turns a study's raw recordings into a BIDS-EMG dataset;
``opioidsocial init`` writes a new project folder for a lab's own studies;
``opioidsocial stale`` lists results whose raw files changed since they were made
(a corrected file copied with its old time stamp), with the command that reruns them.

    opioidsocial simulate --config config/config.yaml [--study ID ...]
    opioidsocial import --map import.yaml --recordings recordings.tsv --out data/mystudy
    opioidsocial init myproject
    opioidsocial stale --config config/config.yaml

simulate: every study of the study sheet that has an entry under ``simulate.emg``,
``simulate.pet`` or ``simulate.summary`` is written to its ``path``. A folder is
only replaced if the simulator wrote it (it holds ``truth.json``), so a lab's real
data can never be overwritten by the demo.

import: the map (workflow/schemas/import.schema.yaml) says which channel is which
muscle and which trigger code or annotation is which face; the recordings list
(file, participant_id, arm) becomes participants.tsv. ``--out`` must be new or
empty (``opioidsocial.io.importer``).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import shutil
import sys
from pathlib import Path

import yaml

from opioidsocial.config import CONFIG_SCHEMA_PATH, SCHEMA_DIR, validate_config
from opioidsocial.errors import ConfigError, DataError
from opioidsocial.sheets import load_studies
from opioidsocial.simulate import study_seed

log = logging.getLogger("opioidsocial.simulate")

SIMULATORS = {"emg": "opioidsocial.simulate.emg", "pet": "opioidsocial.simulate.pet", "summary": "opioidsocial.simulate.summary"}


def _clear(target: Path) -> None:
    if not target.exists():
        return
    marker = target / "truth.json" if target.is_dir() else target.with_name("truth.json")
    if not marker.exists():
        raise ConfigError(f"{target} exists and was not written by the simulator (no truth.json); refusing to overwrite it")
    if target.is_dir():
        shutil.rmtree(target)
    else:
        target.unlink()
        marker.unlink()


def _load_config(config_path: str) -> dict:
    """The workflow config at ``config_path``, validated, with the schema defaults filled in."""
    with open(config_path, encoding="utf-8") as fh:
        raw = yaml.safe_load(fh) or {}
    return validate_config(raw, CONFIG_SCHEMA_PATH, source=config_path)


def simulate(config_path: str, only: list[str] | None = None) -> list[str]:
    config = _load_config(config_path)
    sheet = load_studies(config["studies"], schemas=SCHEMA_DIR)
    master = config["simulate"]["seed"]
    done = []
    for kind, module in SIMULATORS.items():
        for study, params in sorted(config["simulate"][kind].items()):
            if only and study not in only:
                continue
            if study not in sheet.index:
                raise ConfigError(f"{config_path}: simulate.{kind}.{study} names a study that is not in {config['studies']}; add its row there")
            row = sheet.loc[study].to_dict()
            _clear(Path(row["path"]))
            log.info("simulating %s study '%s' into %s", kind, study, row["path"])
            importlib.import_module(module).simulate_study(study=study, row=row, params=params, seed=study_seed(master, study))
            done.append(study)
    unknown = sorted(set(only or []) - set(done))
    if unknown:
        raise ConfigError(f"{config_path}: no simulate entry for {unknown}")
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="opioidsocial", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sim = sub.add_parser("simulate", help="write the simulated demo datasets")
    sim.add_argument("--config", default="config/config.yaml", help="workflow config (default: %(default)s)")
    sim.add_argument("--study", action="append", help="only this study (repeatable)")
    imp = sub.add_parser("import", help="raw recordings (BDF, EDF+, BrainVision, AcqKnowledge .acq) -> a BIDS-EMG dataset")
    imp.add_argument("--map", required=True, help="import map: channel map and event map (workflow/schemas/import.schema.yaml)")
    imp.add_argument("--recordings", required=True, help="TSV with file, participant_id, arm (+ columns for participants.tsv)")
    imp.add_argument("--out", required=True, help="new dataset folder (must not exist or be empty)")
    imp.add_argument("--study", help="study name in messages (default: the --out folder's name)")
    stale = sub.add_parser("stale", help="list results whose raw files changed since they were made, and the fix")
    stale.add_argument("--config", default="config/config.yaml", help="workflow config naming the results folder (default: %(default)s)")
    init = sub.add_parser("init", help="write a new project folder (config, studies sheet, Snakefile, README)")
    init.add_argument("dir", help="the new project's folder (must not exist or be empty)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        if args.command == "import":
            from opioidsocial.io.importer import import_study

            done = import_study(map_path=args.map, recordings_path=args.recordings, out=args.out, study=args.study)
            print(f"imported {len(done)} recordings into {args.out}")
            return 0
        if args.command == "stale":
            from opioidsocial.stale import find_stale, report

            found = find_stale(results=_load_config(args.config)["results"])
            print(report(found))
            return 1 if found else 0
        if args.command == "init":
            from opioidsocial.project import init_project

            written = init_project(target=args.dir)
            print(f"wrote a new project into {args.dir}: {', '.join(str(p.relative_to(args.dir)) for p in written)}; see its README.md")
            return 0
        done = simulate(args.config, args.study)
    except (ConfigError, DataError, OSError) as err:
        print(f"opioidsocial: error: {err}", file=sys.stderr)
        return 2
    print(f"simulated {len(done)} studies: {', '.join(done)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
