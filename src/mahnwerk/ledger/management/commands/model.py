"""``mahnwerk model train|evaluate``: the payment-prediction model from the ledger or an invoice-history CSV.

    mahnwerk model evaluate [--company SLUG] [--date D] [--json]
    mahnwerk model train [--company SLUG] [--date D] [--out PATH] [--json]
    mahnwerk model evaluate --csv FILE [--map COLUMN=FIELD ...] [--json]
    mahnwerk model train --csv FILE [--map COLUMN=FIELD ...] [--out PATH] [--json]

Without ``--csv`` the company's own invoices in the database are used, as known at the end of ``--date``
(default: today); the trained model is saved where ``insights predict`` and the worklist look for it.
``--map`` names the field each CSV column fills (see :mod:`mahnwerk.core.history_csv`); without it,
columns named like the fields, or the public sample's columns, are recognised.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from mahnwerk.core.behaviour import Reason
from mahnwerk.core.history_csv import HistoryCsvError, HistoryImport, parse_mapping, read_history


def default_model_path() -> Path:
    return Path(settings.DATA_DIR) / "models" / "payment-model.joblib"


def _render(reason: Reason) -> str:
    return reason.render(_)


class Command(BaseCommand):
    help = "Train or evaluate the payment-prediction model on an invoice history."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        common = CommandParser(add_help=False)
        common.add_argument("--csv", help="Invoice-history CSV file (default: the company's ledger).")
        common.add_argument("--company", help="Company id or short name (default: the only one).")
        common.add_argument("--date", help="Business date YYYY-MM-DD for the ledger (default: today).")
        common.add_argument(
            "--map",
            nargs="+",
            action="extend",
            default=[],
            metavar="COLUMN=FIELD",
            help="Which field a column fills, e.g. Vendor_Name=customer.",
        )
        common.add_argument("--currency", default="EUR", help="Currency of the amounts (default EUR).")
        common.add_argument("--json", action="store_true", help="Print JSON.")
        evaluate = sub.add_parser(
            "evaluate",
            parents=[common],
            help="Train on the earlier 70 %% of the invoices, test on the last 30 %%.",
        )
        evaluate.add_argument(
            "--test-share", type=float, default=0.3, help="Share of the latest invoices tested."
        )
        train = sub.add_parser("train", parents=[common], help="Train on all invoices and save.")
        train.add_argument(
            "--out", help="Where to save the model (default: DATA_DIR/models/payment-model.joblib)."
        )

    def _load(self, options: dict[str, Any]) -> HistoryImport:
        try:
            mapping = parse_mapping(options["map"]) if options["map"] else None
            history = read_history(options["csv"], mapping, currency=options["currency"])
        except FileNotFoundError:
            raise CommandError(_("File not found: {path}").format(path=options["csv"])) from None
        except HistoryCsvError as exc:
            raise CommandError("\n".join(e.render(_) for e in exc.errors)) from None
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        for warning in history.warnings:
            self.stderr.write(_render(warning))
        return history

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["csv"]:
            self._from_ledger(options)
            return
        history = self._load(options)
        if options["action"] == "evaluate":
            self._evaluate(history, options)
        else:
            self._train(history, options)

    def _from_ledger(self, options: dict[str, Any]) -> None:
        from mahnwerk.insights.management.commands.insights import business_date
        from mahnwerk.insights.services import records_for, train_company_model
        from mahnwerk.ledger.services import LedgerError, company_today, get_company

        try:
            company = get_company(options["company"])
        except LedgerError as exc:
            raise CommandError(str(exc)) from None
        as_of = business_date(options["date"]) if options["date"] else company_today(company)
        if options["action"] == "evaluate":
            records = records_for(company, as_of).invoices
            self._evaluate(HistoryImport(records, as_of, []), options)
            return
        result = train_company_model(company, as_of, options["out"])
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
        elif result.notice is not None:
            self.stdout.write(result.notice)
            self.stdout.write(_("Saved the fallback averages to {path}.").format(path=result.path))
        else:
            self.stdout.write(
                _("Trained on {count} invoices up to {date} ({share}% late); saved to {path}.").format(
                    count=result.invoices_with_outcome,
                    date=as_of.isoformat(),
                    share=round((result.late_share or 0) * 100, 1),
                    path=result.path,
                )
            )

    def _evaluate(self, history: HistoryImport, options: dict[str, Any]) -> None:
        from mahnwerk.core.prediction import InsufficientHistory, evaluate

        share = options["test_share"]
        if not 0 < share < 1:
            raise CommandError(_("--test-share must lie between 0 and 1."))
        try:
            result = evaluate(history.records, history.as_of, share)
        except InsufficientHistory as exc:
            raise CommandError(_render(exc.notice)) from None
        if options["json"]:
            data = result.as_dict() | {"invoices": len(history.records), "as_of": history.as_of.isoformat()}
            self.stdout.write(json.dumps(data, indent=2))
            return
        majority = _("late") if result.majority_class == "late" else _("on time")

        def num(value: float | None, digits: int = 3) -> str:
            return "-" if value is None else f"{value:.{digits}f}"

        self.stdout.write(
            _(
                "Forward test: {train} invoices issued before {split} to train, the last {test} ({share}%) "
                "to test; history up to {as_of}."
            ).format(
                train=result.n_train,
                split=result.split_date.isoformat(),
                test=result.n_test,
                share=round(share * 100),
                as_of=history.as_of.isoformat(),
            )
        )
        self.stdout.write(
            _("Baseline: always predict the training period's majority class ({majority}).").format(
                majority=majority
            )
        )
        header = "{blank:<24}{model:>10}{baseline:>10}".format(
            blank="", model=_("model"), baseline=_("baseline")
        )
        self.stdout.write(header)
        rows = [
            (_("AUC"), num(result.auc), "0.500"),
            (_("Brier score"), num(result.brier), num(result.baseline_brier)),
            (_("Accuracy"), num(result.accuracy), num(result.baseline_accuracy)),
            (_("Mean abs. days late"), num(result.mae_days, 1), num(result.baseline_mae_days, 1)),
        ]
        for label, model, baseline in rows:
            self.stdout.write(f"{label:<24}{model:>10}{baseline:>10}")
        self.stdout.write(
            _("Late share in the test period: {share}%; took {seconds} s.").format(
                share=round(result.test_late_share * 100, 1), seconds=round(result.seconds, 1)
            )
        )

    def _train(self, history: HistoryImport, options: dict[str, Any]) -> None:
        from mahnwerk.core.prediction import FallbackModel, save_model, train

        model = train(history.records, history.as_of)
        path = save_model(model, options["out"] or default_model_path())
        if isinstance(model, FallbackModel):
            data: dict[str, Any] = {
                "kind": "fallback",
                "invoices_with_outcome": model.n_known,
                "late_share": model.late_share,
                "notice": _render(model.notice),
            }
        else:
            data = {"kind": "model", "invoices_with_outcome": model.n_train, "late_share": model.late_share}
        data |= {"trained_until": history.as_of.isoformat(), "path": str(path)}
        if options["json"]:
            self.stdout.write(json.dumps(data, indent=2))
            return
        if isinstance(model, FallbackModel):
            self.stdout.write(_render(model.notice))
            self.stdout.write(_("Saved the fallback averages to {path}.").format(path=path))
        else:
            self.stdout.write(
                _("Trained on {count} invoices up to {date} ({share}% late); saved to {path}.").format(
                    count=model.n_train,
                    date=history.as_of.isoformat(),
                    share=round(model.late_share * 100, 1),
                    path=path,
                )
            )
