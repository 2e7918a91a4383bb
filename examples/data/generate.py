#!/usr/bin/env python3
"""generate.py - writes the example datasets, deterministically, with the
standard library only (any python3 runs it; nothing is downloaded):

  churn.csv        one month of a video-streaming service's subscribers,
                   with whether each cancelled the month after (churned)
  churn_next.csv   the next month's subscribers: a price rise on the
                   standard plan, more phone viewing, fewer hours watched
  ranking.csv      users x candidate titles with what each user watched
                   (relevance 0, 1 = sampled, 2 = finished), for ranking

The notebooks in examples/ read these files; the committed copies are what
this script writes (tests/notebooks checks that it still does).

  python3 examples/data/generate.py [OUTPUT_DIR]
"""
import math
import os
import random
import sys

COUNTRIES = [("US", 0.34), ("GB", 0.12), ("DE", 0.12), ("BR", 0.16),
             ("IN", 0.16), ("JP", 0.10)]
PLANS = {"basic": 8.99, "standard": 13.99, "premium": 19.99}
DEVICES = ["tv", "mobile", "web", "console"]


def pick(rng, weighted):
    return rng.choices([v for v, _ in weighted],
                       weights=[w for _, w in weighted])[0]


def sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z))


def subscriber(rng, user_id, month):
    """One subscriber; month 1 is the drifted next month."""
    country = pick(rng, COUNTRIES)
    plan = pick(rng, [("basic", 0.42), ("standard", 0.38), ("premium", 0.20)])
    mobile_share = 0.30 if month == 0 else 0.42
    rest = (1 - mobile_share) / 3
    device = pick(rng, [("tv", rest), ("mobile", mobile_share), ("web", rest),
                        ("console", rest)])
    tenure = min(72, 1 + int(rng.expovariate(1 / 16)))
    profiles = pick(rng, [(1, 0.35), (2, 0.30), (3, 0.18), (4, 0.12),
                          (5, 0.05)])
    discount = rng.random() < (0.22 if country in ("BR", "IN") else 0.10)
    price = PLANS[plan]
    if month == 1 and plan == "standard":
        price = 15.49                       # the price rise
    if discount:
        price = round(price * 0.8, 2)
    engagement = rng.gammavariate(2.0, 1.0) * (0.85 if month == 1 else 1.0)
    hours = round(engagement * (9 + 3 * profiles) *
                  (0.6 if device == "mobile" else 1.0), 1)
    sessions = max(0, int(rng.gauss(hours * 0.9 + 2, 3)))
    days_idle = min(60, int(rng.expovariate(1 / (3 + 12 / (1 + hours / 6)))))
    completed = max(0, int(hours / 1.8 + rng.gauss(0, 1.5)))
    tickets = int(rng.expovariate(1.6))
    failures = pick(rng, [(0, 0.86), (1, 0.09), (2, 0.04), (3, 0.01)])

    z = (-1.2 - 0.035 * tenure - 0.07 * hours + 0.06 * days_idle
         + 0.9 * failures + 0.25 * tickets
         + {"basic": 0.35, "standard": 0.0, "premium": -0.3}[plan]
         + (0.8 if month == 1 and plan == "standard" else 0.0)
         - 0.4 * discount + (0.3 if country in ("BR", "IN") else 0.0)
         - 0.15 * (profiles - 1))
    # what a linear model cannot see: binge-and-leave in the first months,
    # long-idle accounts kept for the kids' profile, premium at full price
    # where money is tight, and the cliff after two idle weeks
    if completed >= 12 and tenure < 8:
        z += 2.5
    if days_idle > 21 and profiles >= 3:
        z -= 3.0
    if plan == "premium" and not discount and country in ("BR", "IN"):
        z += 2.0
    if days_idle > 14:
        z += 1.0
    churned = rng.random() < sigmoid(z)

    if rng.random() < 0.015:                # the tracker missed the month
        hours = None
    return {"user_id": user_id, "country": country, "plan": plan,
            "device": device, "tenure_months": tenure, "profiles": profiles,
            "monthly_price": price, "discount": discount,
            "watch_hours_30d": hours, "sessions_30d": sessions,
            "days_since_last_watch": days_idle,
            "titles_completed_30d": completed, "support_tickets_90d": tickets,
            "payment_failures_90d": failures, "churned": churned}


def cell(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def write(path, rows):
    with open(path, "w", newline="") as f:
        f.write(",".join(rows[0]) + "\n")
        for r in rows:
            f.write(",".join(cell(v) for v in r.values()) + "\n")


GENRES = ["drama", "comedy", "thriller", "documentary", "kids", "scifi",
          "romance", "anime"]


def ranking(rng, n_users=1000, n_titles=300, per_user=25):
    titles = []
    for t in range(n_titles):
        genre = rng.choice(GENRES)
        titles.append({"title_id": 5001 + t, "genre": genre,
                       "popularity": round(rng.paretovariate(1.6), 3),
                       "age_days": int(rng.expovariate(1 / 400)),
                       "minutes": int(rng.gauss(95 if t % 3 else 45, 15))})
    rows = []
    for u in range(n_users):
        likes = {g: rng.gammavariate(1.0, 1.0) for g in GENRES}
        total = sum(likes.values())
        affinity = {g: likes[g] / total for g in GENRES}
        tenure = min(72, 1 + int(rng.expovariate(1 / 16)))
        favourite = max(GENRES, key=lambda g: affinity[g])
        for t in rng.sample(titles, per_user):
            aff = affinity[t["genre"]]
            # the favourite genre wins outright, new releases get a burst,
            # and new subscribers pick short titles: steps and interactions
            # a linear score cannot draw
            z = (-3.2 + 2.2 * (t["genre"] == favourite) + 2.0 * aff
                 + 0.35 * math.log(t["popularity"])
                 + (1.4 if t["age_days"] < 30 else
                    -0.4 if t["age_days"] > 700 else 0.0)
                 + (1.5 if t["minutes"] < 60 and tenure < 6 else
                    -0.8 if t["minutes"] < 60 else 0.0))
            u_rel = rng.random()
            rel = 2 if u_rel < sigmoid(z - 1.0) else \
                1 if u_rel < sigmoid(z) else 0
            rows.append({"user_id": 9001 + u, "title_id": t["title_id"],
                         "genre": t["genre"],
                         "genre_affinity": round(aff, 4),
                         "popularity": t["popularity"],
                         "age_days": t["age_days"], "minutes": t["minutes"],
                         "user_tenure": tenure, "relevance": rel})
    return rows


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(
        os.path.abspath(__file__))
    rng = random.Random(20261101)
    write(os.path.join(out, "churn.csv"),
          [subscriber(rng, 100001 + i, 0) for i in range(5000)])
    write(os.path.join(out, "churn_next.csv"),
          [subscriber(rng, 200001 + i, 1) for i in range(5000)])
    write(os.path.join(out, "ranking.csv"), ranking(rng))


if __name__ == "__main__":
    main()
