"""The cache buster's requests: random valid URLs, made-up API keys and typos.

Every distinct valid URL is a cache miss, and the valid URL space is practically
unbounded: random years over the filter's whole range, states in random case or made
up, columns in random order, odd limits and offsets, parameters in any order. Unless
the origin's statement budget stops it, a client walking that space costs a warehouse
statement per request. Beside those it sends what the gateway must refuse whatever the
caches hold: valid URLs with made-up `x-api-key`s (401) and typos (400): unknown
parameter names (`stat=`), names in the wrong case (`STATE=`), repeated names, values
out of range or badly spelled, broken percent-escapes.

Each request says what it is (`kind`, and its Locust route `buster: <kind>`), so the
report can tell a right refusal from a wrong answer. Pure and seeded: no Locust here;
tests/loadtests/test_buster.py holds the generator to the origin's own parser.
"""

from __future__ import annotations

import random
import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args
from urllib.parse import quote

from handler.catalogue import Dataset
from handler.parameters import MAX_OFFSET

Kind = Literal["valid", "unknown key", "unknown name", "wrong case", "repeated name", "bad value"]
KINDS: tuple[Kind, ...] = get_args(Kind)
WEIGHTS: tuple[int, ...] = (50, 15, 10, 10, 5, 10)  # of KINDS, in percent
ROUTE_PREFIX = "buster: "

# Near misses of the real names, and names other APIs take.
MISSPELT = ("stat", "states", "sate", "state_", "yaer", "years", "yr", "feilds", "field",
            "columns", "limt", "max", "size", "ofset", "skip", "page", "fromat", "fmt",
            "q", "order", "callback", "utm_source", "_")  # fmt: skip
# Values each parameter refuses; `None` entries are spelled raw (broken escapes).
BAD_VALUES: dict[str, tuple[str, ...]] = {
    "year": ("abc", "2016.0", "1899", "2101", "2_016", " 2016", "", "1e3", "0x7e0",
             "\uff12\uff10\uff11\uff16", "99999999999999999999"),
    "state": ("", "x" * 65),
    "fields": ("", "bogus", "year,", ",state", "Year", "year,,state", "*"),
    "limit": ("0", "5001", "-1", "ten", "", "1.5", "+5"),
    "offset": ("-1", "1000001", "abc", "1e2", ""),
    "format": ("xml", "JSON", "", "parquet"),
}  # fmt: skip
RAW_BAD_VALUES = ("%zz", "%ff", "%2", "caf%e9")  # not percent-encoded UTF-8


@dataclass(frozen=True, slots=True)
class BusterRequest:
    kind: Kind
    url: str  # path and query, percent-encoded
    api_key: str | None = None  # sent as x-api-key

    @property
    def route(self) -> str:
        return ROUTE_PREFIX + self.kind


def kind_of(route: str) -> Kind | None:
    """The buster kind of a Locust route name; None for anyone else's request."""
    if not route.startswith(ROUTE_PREFIX):
        return None
    name = route.removeprefix(ROUTE_PREFIX)
    return next((k for k in KINDS if k == name), None)


def must_refuse(route: str, *, require_keys: bool) -> bool:
    """Whether the gateway must refuse this request whatever the caches hold: a buster's
    typo or made-up key, or (keys required) anything a buster sends, having no key."""
    kind = kind_of(route)
    return kind is not None and (kind != "valid" or require_keys)


class CacheBuster:
    """Draws buster requests for one dataset: `CacheBuster(dataset, states, years, seed)()`."""

    def __init__(
        self, dataset: Dataset, states: Sequence[str], years: Sequence[int], seed: int = 0
    ) -> None:
        self.dataset = dataset
        self.states = tuple(states)
        self.years = tuple(years)
        self.random = random.Random(seed)
        year = next(f for f in dataset.filters if f.name == "year")
        self.year_range = (int(year.minimum or 0), int(year.maximum or 9999))
        state = next(f for f in dataset.filters if f.name == "state")
        self.state_length = state.max_length or 64

    def __call__(self) -> BusterRequest:
        return self.draw(self.random.choices(KINDS, WEIGHTS)[0])

    def draw(self, kind: Kind) -> BusterRequest:
        pairs = self.valid_pairs()
        if kind == "unknown key":
            return BusterRequest(kind, self._url(pairs), self.made_up_key())
        if kind == "unknown name":
            value = self.random.choice([*(v for _, v in pairs), "1", "ohio", "year"])
            pairs.insert(
                self.random.randrange(len(pairs) + 1), (self.random.choice(MISSPELT), value)
            )
        elif kind == "wrong case":
            pairs = pairs or [("state", quote(self.random.choice(self.states)))]
            index = self.random.randrange(len(pairs))
            name, value = pairs[index]
            pairs[index] = (self._recased(name), value)
        elif kind == "repeated name":
            pairs = pairs or [("year", str(self.random.choice(self.years)))]
            name, value = self.random.choice(pairs)
            again = self.random.choice([value, *(v for n, v in self.valid_pairs() if n == name)])
            pairs.insert(self.random.randrange(len(pairs) + 1), (name, again))
        elif kind == "bad value":
            raw = self.random.random() < 0.2
            name = self.random.choice(("state", "year") if raw else tuple(BAD_VALUES))
            pairs = [(n, v) for n, v in pairs if n != name and self.random.random() < 0.5]
            if raw:
                value = self.random.choice(RAW_BAD_VALUES)
            else:
                value = quote(self.random.choice(BAD_VALUES[name]), safe=",")
            pairs.insert(self.random.randrange(len(pairs) + 1), (name, value))
        return BusterRequest(kind, self._url(pairs))

    def valid_pairs(self) -> list[tuple[str, str]]:
        """(name, percent-encoded value) pairs of one valid query, in random order."""
        r = self.random
        pairs: list[tuple[str, str]] = []
        if r.random() < 0.8:
            pairs.append(("year", quote(self._year())))
        if r.random() < 0.75:
            pairs.append(("state", quote(self._state(), safe="")))
        if r.random() < 0.5:
            columns = list(self.dataset.column_names)
            chosen = r.sample(columns, r.randint(1, len(columns)))
            if r.random() < 0.1:
                chosen.append(r.choice(chosen))  # a repeated column is harmless
            pairs.append(("fields", ",".join(chosen)))
        if r.random() < 0.6:
            top = self.dataset.limit.maximum if r.random() < 0.3 else 50
            pairs.append(("limit", str(r.randint(1, top))))
        if r.random() < 0.3:
            pairs.append(("offset", str(r.randint(0, MAX_OFFSET if r.random() < 0.3 else 100))))
        if r.random() < 0.15:
            pairs.append(("format", r.choice(("json", "csv"))))
        r.shuffle(pairs)
        return pairs

    def made_up_key(self) -> str:
        r = self.random
        if r.random() < 0.7:  # shaped like a real one (edge/keys.py: lk_ + 32 random bytes)
            return "lk_" + "".join(r.choices(string.ascii_letters + string.digits + "-_", k=43))
        return "".join(r.choices(string.ascii_letters + string.digits, k=r.randint(8, 40)))

    def _year(self) -> str:
        r = self.random
        year = r.choice(self.years) if r.random() < 0.5 else r.randint(*self.year_range)
        spelling = r.random()
        if spelling < 0.05:
            return f"+{year}"  # handler.parameters reads [+-]?[0-9]{1,18}
        if spelling < 0.1:
            return f"0{year}"
        return str(year)

    def _state(self) -> str:
        r = self.random
        if r.random() < 0.7:
            state = r.choice(self.states)
            return "".join(c.upper() if r.random() < 0.5 else c.lower() for c in state)
        alphabet = string.ascii_letters + " -'.\u00e9\u00fc"
        return "".join(r.choices(alphabet, k=r.randint(1, self.state_length)))

    def _recased(self, name: str) -> str:
        for _ in range(10):
            recased = "".join(c.upper() if self.random.random() < 0.5 else c for c in name)
            if recased != name:
                return recased
        return name.upper()

    def _url(self, pairs: Sequence[tuple[str, str]]) -> str:
        query = "&".join(f"{name}={value}" for name, value in pairs)
        return self.dataset.route + (f"?{query}" if query else "")
