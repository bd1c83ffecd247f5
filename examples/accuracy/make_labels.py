#!/usr/bin/env python3
"""Builds examples/accuracy/labels.csv from the annotations the dialogue datasets ship.

Every label comes from a field the dataset's own annotators (or its scenario designers)
wrote, never from a model, by the rules below, so anyone can check how a label was made:

| metric           | STAR                                   | SGD                                      | ABCD           |
| ---------------- | -------------------------------------- | ---------------------------------------- | -------------- |
| outcome          | `completion_level` not Complete:       | the last NOTIFY_SUCCESS / NOTIFY_FAILURE | (none)         |
|                  | abandoned; else the customer's         | system act: success / failure; no NOTIFY |                |
|                  | `user_reported_task_success` answer:   | act at all: no_transaction               |                |
|                  | success / failure (none: unlabelled)   |                                          |                |
| issue_category   | `tasks[0]`                             | `intents[0]` (the first active intent)   | `flow/subflow` |
| customer_annoyed | `agent_reported_user_aggressive_or_    | (none)                                   | (none)         |
|                  | annoyed` answer (none: unlabelled)     |                                          |                |
| party_size       | (none)                                 | the people count of the last service     | (none)         |
|                  |                                        | call that has one (seats, tickets,       |                |
|                  |                                        | passengers, party/group size, riders…)   |                |
| customer_name    | the last name constraint of the KB     | (none: SGD callers never give a name,    | the scenario's |
|                  | queries (FullName, CustomerName, …)    | so there is nothing to label)            | customer_name  |

An empty cell means "not labelled": `postcall eval` leaves that call out of that metric.

Usage (from the repository root; standard library only):

    python3 examples/accuracy/make_labels.py tests/fixtures/dialogues examples/accuracy/dialogues \
        > examples/accuracy/labels.csv
"""

import csv
import json
import sys
from pathlib import Path

COLUMNS = ["call_id", "outcome", "issue_category", "customer_annoyed", "party_size", "customer_name"]

# STAR's knowledge-base constraints that hold the customer's own name.
STAR_NAME_KEYS = ["FullName", "CustomerName", "PatientName", "RenterName", "UserName", "GuestName"]

# SGD service-call parameters that count the people a booking or search is for (not rooms,
# beds or days).
SGD_PEOPLE_KEYS = [
    "number_of_seats",
    "number_of_tickets",
    "passengers",
    "party_size",
    "group_size",
    "travelers",
    "number_of_riders",
    "number_of_adults",
]


def answer(question):
    """The answer of a STAR questionnaire item, or None when it was not asked."""
    return question.get("answer") if isinstance(question, dict) else None


def star(labels):
    row = {"issue_category": labels["tasks"][0]}
    success = answer(labels.get("user_reported_task_success"))
    if labels["completion_level"] != "Complete":
        row["outcome"] = "abandoned"
    elif success is not None:
        row["outcome"] = "success" if success else "failure"
    annoyed = answer(labels.get("agent_reported_user_aggressive_or_annoyed"))
    if annoyed is not None:
        row["customer_annoyed"] = "true" if annoyed else "false"
    names = [
        query["constraints"][key]
        for query in labels.get("kb_queries", [])
        for key in STAR_NAME_KEYS
        if key in query.get("constraints", {})
    ]
    # A constraint can be an API expression (`api.is_equal_to(...)`) rather than a name.
    names = [n.strip() for n in names if isinstance(n, str) and n.strip() and "api." not in n]
    if names:
        row["customer_name"] = names[-1]
    return row


def sgd(labels):
    row = {"issue_category": labels["intents"][0]}
    acts = [n["act"] for n in labels.get("notifications", [])]
    if not acts:
        row["outcome"] = "no_transaction"
    else:
        row["outcome"] = {"NOTIFY_SUCCESS": "success", "NOTIFY_FAILURE": "failure"}[acts[-1]]
    counts = [
        call["parameters"][key]
        for call in labels.get("service_calls", [])
        for key in SGD_PEOPLE_KEYS
        if key in call.get("parameters", {})
    ]
    if counts:
        row["party_size"] = str(int(counts[-1]))
    return row


def abcd(labels):
    return {
        "issue_category": f"{labels['flow']}/{labels['subflow']}",
        "customer_name": labels["customer_name"].strip(),
    }


READERS = {"STAR": star, "Schema-Guided": sgd, "ABCD": abcd}


def label_row(path):
    dialogue = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(dialogue, dict) or "labels" not in dialogue:
        return None  # an index or another file that is not a labelled dialogue
    dataset = dialogue.get("source", {}).get("dataset", "")
    for prefix, read in READERS.items():
        if dataset.startswith(prefix):
            row = read(dialogue["labels"])
            row["call_id"] = dialogue["call_id"]
            return row
    return None


def main(folders):
    if not folders:
        sys.exit("usage: make_labels.py FOLDER... > labels.csv (folders of dialogue JSON files)")
    rows = []
    for folder in folders:
        for path in sorted(Path(folder).rglob("*.json")):
            row = label_row(path)
            if row is not None:
                rows.append(row)
    rows.sort(key=lambda r: r["call_id"])
    writer = csv.DictWriter(sys.stdout, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({column: row.get(column, "") for column in COLUMNS})
    for column in COLUMNS[1:]:
        labelled = sum(1 for r in rows if column in r)
        print(f"{column}: {labelled} of {len(rows)} dialogues labelled", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
