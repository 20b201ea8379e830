"""A synthetic, reproducible corpus of English news articles for the benchmark.

Every article is built from this module's own templates and vocabularies with one
seeded random generator: about 500 words, a cast of named people, organizations and
places, and several direct quotations attributed in the ways wire copy does it
(`"...," Name said.`, `Name said: "..."`, split quotes, a pronoun after the first mention).

    python -m bench.corpus OUT_DIR [--count N] [--seed S] [--jsonl FILE]

writes OUT_DIR/NNNN_slug.txt (title line, blank line, body) for the files connector and,
with --jsonl, the same articles as Article JSON lines.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["CorpusArticle", "generate", "write_folder", "write_jsonl", "DEFAULT_SEED", "word_count"]

DEFAULT_SEED = 20240611
MIN_WORDS, MAX_WORDS = 430, 580

FIRST_NAMES = {
    "she": ["Amara", "Ingrid", "Lucia", "Priya", "Helena", "Margaret", "Yasmin", "Chiara", "Naomi", "Rosalind",
            "Teresa", "Mei", "Sofia", "Danielle", "Agnieszka", "Fatima", "Olivia", "Beatriz", "Keiko", "Elena"],
    "he": ["Tobias", "Rafael", "Samuel", "Oluwaseun", "Dmitri", "Gareth", "Hiroshi", "Mateo", "Patrick", "Anand",
           "Lars", "Kwame", "Julian", "Marcus", "Stefan", "Omar", "Nikolai", "Desmond", "Ibrahim", "Connor"],
}
SURNAMES = ["Okafor", "Lindqvist", "Moreno", "Raghunathan", "Whitcombe", "Castellanos", "Nakamura", "Brennan",
            "Adeyemi", "Kowalczyk", "Haddad", "Sorensen", "Delacroix", "Mwangi", "Vasquez", "Thornbury",
            "Fitzgerald", "Albrecht", "Oyelaran", "Petrakis", "Gallagher", "Ramaswamy", "Holloway", "Ferreira",
            "Achterberg", "Novak", "Carrington", "Abernathy", "Quintero", "Sato", "Mbeki", "Harrington",
            "Eriksen", "Bianchi", "Osei", "McAllister", "Kaur", "Lefebvre", "Wojcik", "Donnelly"]
PLACES = [("London", "Britain"), ("Manchester", "Britain"), ("Lagos", "Nigeria"), ("Nairobi", "Kenya"),
          ("Sao Paulo", "Brazil"), ("Toronto", "Canada"), ("Melbourne", "Australia"), ("Mumbai", "India"),
          ("Osaka", "Japan"), ("Hamburg", "Germany"), ("Lyon", "France"), ("Madrid", "Spain"),
          ("Chicago", "the United States"), ("Houston", "the United States"), ("Warsaw", "Poland"),
          ("Johannesburg", "South Africa"), ("Auckland", "New Zealand"), ("Dublin", "Ireland"),
          ("Rotterdam", "the Netherlands"), ("Seoul", "South Korea"), ("Accra", "Ghana"), ("Lisbon", "Portugal")]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

# Each beat: organizations, roles for people, the subject, figures and phrases to talk about it.
BEATS = {
    "economy": {
        "orgs": ["the Central Bank", "the Treasury", "Meridian Capital", "Halden Financial Group",
                 "the International Monetary Fund", "Brightwater Securities", "the Chamber of Commerce"],
        "roles": ["finance minister", "chief economist at {org}", "governor of {org}", "a senior analyst at {org}",
                  "a spokesperson for {org}", "president of {org}"],
        "subjects": ["interest rates", "inflation", "the national budget", "household borrowing", "the currency",
                     "public spending", "wage growth"],
        "nouns": ["prices", "borrowing costs", "savings", "exports", "tax receipts", "mortgages", "bond yields"],
        "verbs": ["rose", "fell", "stalled", "recovered", "slipped", "climbed"],
    },
    "health": {
        "orgs": ["the Ministry of Health", "St Aldric's Hospital", "the National Institute of Medicine",
                 "Corvane Pharmaceuticals", "the World Health Organization", "the Nurses' Union"],
        "roles": ["health minister", "medical director at {org}", "a researcher at {org}",
                  "chief executive of {org}", "a spokesperson for {org}", "head of {org}"],
        "subjects": ["the vaccination campaign", "waiting lists", "a measles outbreak", "hospital funding",
                     "the new cancer drug", "mental health services"],
        "nouns": ["admissions", "infections", "doses", "beds", "staff shortages", "trial results"],
        "verbs": ["increased", "declined", "doubled", "levelled off", "improved", "worsened"],
    },
    "transport": {
        "orgs": ["the Department for Transport", "Northline Rail", "Skyreach Airways", "the Port Authority",
                 "the Transit Workers' Union", "Ferrovia Systems", "the City Council"],
        "roles": ["transport secretary", "chief operating officer of {org}", "general secretary of {org}",
                  "a spokesperson for {org}", "an engineer at {org}", "chair of {org}"],
        "subjects": ["the rail strike", "the new metro line", "airport expansion", "bus fares",
                     "the harbour bridge repairs", "fuel costs"],
        "nouns": ["passenger numbers", "delays", "ticket prices", "cancellations", "freight volumes", "journeys"],
        "verbs": ["dropped", "surged", "recovered", "collapsed", "grew", "eased"],
    },
    "technology": {
        "orgs": ["Quantel Systems", "Arcadia Semiconductors", "the Digital Standards Agency", "Lumen Networks",
                 "the Data Protection Authority", "Veridian Labs", "Polaris Robotics"],
        "roles": ["chief executive of {org}", "chief technology officer at {org}", "a regulator at {org}",
                  "a spokesperson for {org}", "founder of {org}", "a security researcher at {org}"],
        "subjects": ["the chip shortage", "the data breach", "artificial intelligence rules", "broadband rollout",
                     "the satellite launch", "online safety laws"],
        "nouns": ["orders", "subscribers", "shares", "outages", "investments", "complaints"],
        "verbs": ["jumped", "tumbled", "held steady", "soared", "slowed", "rebounded"],
    },
    "climate": {
        "orgs": ["the Environment Agency", "Greenfield Energy", "the Water Board", "the Farmers' Federation",
                 "the Meteorological Office", "Solvane Power", "the Coastal Trust"],
        "roles": ["environment minister", "a climate scientist at {org}", "director of {org}",
                  "a spokesperson for {org}", "president of {org}", "chief executive of {org}"],
        "subjects": ["the drought", "flood defences", "the heatwave", "emissions targets", "the new wind farm",
                     "river pollution"],
        "nouns": ["reservoir levels", "temperatures", "emissions", "crop yields", "water bills", "power prices"],
        "verbs": ["fell", "rose", "hit a record", "stabilised", "plunged", "crept up"],
    },
    "sport": {
        "orgs": ["Riverside United", "the Football Association", "Northbridge Athletic", "the Olympic Committee",
                 "the Rugby Union", "Harbour City FC", "the Athletics Federation"],
        "roles": ["manager of {org}", "captain of {org}", "chief executive of {org}", "a spokesperson for {org}",
                  "head coach at {org}", "president of {org}"],
        "subjects": ["the cup final", "the transfer window", "the doping inquiry", "the new stadium",
                     "the championship race", "ticket prices"],
        "nouns": ["attendances", "ticket sales", "injuries", "wages", "television rights", "points"],
        "verbs": ["climbed", "slumped", "improved", "collapsed", "steadied", "soared"],
    },
    "courts": {
        "orgs": ["the Supreme Court", "the Crown Prosecution Service", "the Bar Council", "Ashford & Lyle LLP",
                 "the Police Federation", "the Justice Ministry", "the Civil Liberties Union"],
        "roles": ["justice minister", "a barrister at {org}", "chief prosecutor at {org}",
                  "a spokesperson for {org}", "director of {org}", "a judge at {org}"],
        "subjects": ["the fraud trial", "the appeal ruling", "sentencing reform", "the inquiry into police conduct",
                     "the privacy case", "court backlogs"],
        "nouns": ["backlogs", "convictions", "legal costs", "appeals", "complaints", "delays"],
        "verbs": ["grew", "fell", "doubled", "eased", "stalled", "mounted"],
    },
}

QUOTE_OPENERS = ["We have been clear from the start that", "Nobody should be surprised that", "The simple truth is that",
                 "I want to be very clear that", "What we are seeing now is that", "Frankly, the evidence shows that",
                 "Our members tell us every day that", "It would be a mistake to pretend that",
                 "For the first time in years,", "After months of talks,", "We knew this would be hard, but",
                 "People across the country can see that"]
QUOTE_CLAIMS = ["{subject} is now the biggest challenge we face", "{nouns} {verb} faster than anyone expected",
                "the plan for {subject} is working", "the response to {subject} has been far too slow",
                "families in {city} deserve better answers on {subject}",
                "we will not accept any more delays over {subject}",
                "{org} has to take responsibility for {subject}",
                "the numbers on {nouns} speak for themselves",
                "there is still a long way to go on {subject}",
                "nobody in {city} wants to see {nouns} fall again"]
QUOTE_TAILS = ["and we intend to keep going.", "and that is what worries me most.", "whatever the critics say.",
               "and the public knows it.", "and we will say so again next week.", "so the pressure has to stay on.",
               "which is why we acted.", "and I am confident we can fix it.", "but it will take time.",
               "and that should concern everyone."]
SECOND_QUOTES = ["We are listening, and we will keep listening to people who are affected.",
                 "This is not the end of the story, and I expect more difficult decisions.",
                 "Anyone who says otherwise has not looked at the figures.",
                 "We have asked for a meeting and we expect an answer within days.",
                 "I think the next few months will decide whether this works.",
                 "There are no easy choices left, only less painful ones.",
                 "We owe it to the people who rely on us to get this right."]
BACKGROUND = ["{subject_cap} has dominated debate in {city} for much of the year, with {nouns} a constant worry.",
              "Figures published by {org} on {weekday} showed that {nouns} {verb} by {pct} percent over the past "
              "{months} months.",
              "Critics have long argued that {org} moved too slowly, while supporters point to {nouns} as proof "
              "that the approach is paying off.",
              "The row comes as officials in {country} prepare for a difficult winter, and as pressure grows on "
              "{org} to publish its plans in full.",
              "Analysts said the figures for {nouns} were the clearest sign yet of how far {subject} now reaches "
              "into everyday life.",
              "Around {count} people attended a public meeting in {city} on {weekday} evening, many of them "
              "demanding answers about {subject}.",
              "{org_cap} said in a statement that it would review the decision and report back before the end of "
              "the month.",
              "In {city2}, where {nouns} {verb} sharply last year, local officials said they were watching "
              "developments closely.",
              "The latest report from {org} warned that {nouns} could {verb_base} again if nothing changed.",
              "Opposition politicians in {country} seized on the figures, calling for an independent review of "
              "{subject}.",
              "A similar dispute in {city2} two years ago took months to settle and left lasting damage, "
              "according to people involved at the time.",
              "Officials declined to say how much the measures would cost, but estimates put the figure at "
              "around {money} million."]
VERB_BASE = {"rose": "rise", "fell": "fall", "stalled": "stall", "recovered": "recover", "slipped": "slip",
             "climbed": "climb", "increased": "increase", "declined": "decline", "doubled": "double",
             "levelled off": "level off", "improved": "improve", "worsened": "worsen", "dropped": "drop",
             "surged": "surge", "collapsed": "collapse", "grew": "grow", "eased": "ease", "jumped": "jump",
             "tumbled": "tumble", "held steady": "hold steady", "soared": "soar", "slowed": "slow",
             "rebounded": "rebound", "hit a record": "hit a record", "stabilised": "stabilise",
             "plunged": "plunge", "crept up": "creep up", "slumped": "slump", "steadied": "steady",
             "mounted": "mount"}
TITLES = ["{surname} warns over {subject} as {nouns} {verb}", "{org_cap} under pressure over {subject}",
          "{city} braces for more trouble on {subject}", "{surname} and {surname2} clash over {subject}",
          "{nouns_cap} {verb} as {subject} row deepens", "What {subject} means for {city}, says {surname}"]


@dataclass
class CorpusArticle:
    """One generated article and the cast it was written with (for tests and ids)."""

    number: int
    beat: str
    title: str
    body: str
    people: list[str] = field(default_factory=list)
    organizations: list[str] = field(default_factory=list)
    places: list[str] = field(default_factory=list)
    quotes: int = 0

    @property
    def slug(self) -> str:
        words = re.findall(r"[a-z0-9]+", self.title.lower())[:6]
        return f"{self.number:04d}_" + "-".join(words)

    @property
    def text(self) -> str:
        return f"{self.title}\n\n{self.body}\n"


def word_count(text: str) -> int:
    return len(text.split())


def _cap(text: str) -> str:
    if text.startswith("the "):
        return "The " + text[4:]
    return text[:1].upper() + text[1:]


@dataclass
class _Person:
    name: str
    pronoun: str
    role: str

    @property
    def surname(self) -> str:
        return self.name.split()[-1]


class _Writer:
    """Writes one article from the generator's choices."""

    def __init__(self, rng: random.Random, number: int) -> None:
        self.rng = rng
        self.number = number
        self.beat_name = rng.choice(sorted(BEATS))
        beat = BEATS[self.beat_name]
        self.beat = beat
        self.orgs = rng.sample(beat["orgs"], 3)
        self.city, self.country = rng.choice(PLACES)
        self.city2 = rng.choice([c for c, _ in PLACES if c != self.city])
        self.subject = rng.choice(beat["subjects"])
        surnames = rng.sample(SURNAMES, 4)
        self.people = []
        roles = rng.sample(beat["roles"], len(surnames))
        for n, (surname, role) in enumerate(zip(surnames, roles)):
            pronoun = rng.choice(["she", "he"])
            role = role.format(org=self.orgs[n % len(self.orgs)])
            self.people.append(_Person(f"{rng.choice(FIRST_NAMES[pronoun])} {surname}", pronoun, role))
        self.introduced: set[str] = set()
        self.quotes = 0

    def fill(self, template: str) -> str:
        rng, beat = self.rng, self.beat
        verb = rng.choice(beat["verbs"])
        nouns = rng.choice(beat["nouns"])
        values = {
            "subject": self.subject, "subject_cap": _cap(self.subject), "nouns": nouns, "nouns_cap": _cap(nouns),
            "verb": verb, "verb_base": VERB_BASE.get(verb, verb), "org": rng.choice(self.orgs),
            "city": self.city, "city2": self.city2, "country": self.country, "weekday": rng.choice(WEEKDAYS),
            "pct": rng.randint(2, 38), "months": rng.choice([3, 6, 9, 12, 18]), "count": rng.choice([200, 350, 800, 1500]),
            "money": rng.choice([40, 120, 275, 610, 900]), "surname": self.people[0].surname,
            "surname2": self.people[1].surname,
        }
        values["org_cap"] = _cap(values["org"])
        return template.format(**values)

    def who(self, person: _Person) -> str:
        """Full name and role at the first mention, the surname after."""
        if person.name in self.introduced:
            return person.surname
        self.introduced.add(person.name)
        return f"{person.name}, {person.role},"

    def quote_text(self) -> str:
        rng = self.rng
        return f"{rng.choice(QUOTE_OPENERS)} {self.fill(rng.choice(QUOTE_CLAIMS))}, {rng.choice(QUOTE_TAILS)}"

    def quote_paragraph(self, person: _Person) -> str:
        rng = self.rng
        self.quotes += 1
        words = self.quote_text()
        first = person.name not in self.introduced
        style = rng.randrange(5)
        if style == 0:
            said = self.who(person).rstrip(",")
            return f'"{words[:-1]}," said {said}.'
        if style == 1:
            return f'{self.who(person)} said: "{words}"'.replace(",, said", ", said")
        if style == 2 and not first:
            self.quotes += 1
            return (f'"{words[:-1]}," {person.surname} said. "{rng.choice(SECOND_QUOTES)}"')
        if style == 3 and not first:
            return f'"{words[:-1]}," {person.pronoun} said, adding that talks would continue.'
        intro = self.who(person)
        self.quotes += 1
        return (f'Speaking in {self.city} on {rng.choice(WEEKDAYS)}, {intro} said {person.pronoun} '
                f'understood the anger. "{words}" {_cap(person.pronoun)} added: "{rng.choice(SECOND_QUOTES)}"')

    def write(self) -> CorpusArticle:
        rng = self.rng
        target = rng.randint(MIN_WORDS + 40, MAX_WORDS - 40)
        lead_person = self.people[0]
        lead = (f"{self.who(lead_person)} on {rng.choice(WEEKDAYS)} "
                f"{rng.choice(['warned', 'said', 'insisted', 'acknowledged'])} that {self.subject} in "
                f"{self.city} would need {rng.choice(['urgent', 'sustained', 'careful', 'new'])} attention, "
                f"as {self.fill('{nouns} {verb}')} and pressure mounted on {self.orgs[0]}.")
        paragraphs = [lead, self.quote_paragraph(lead_person)]
        background = rng.sample(BACKGROUND, len(BACKGROUND))
        speakers = self.people[1:] + [lead_person]
        turn = 0
        while word_count(" ".join(paragraphs)) < target:
            if turn % 2 == 0 and background:
                paragraphs.append(self.fill(background.pop()) + " " + self.fill(background.pop() if background else ""))
            else:
                paragraphs.append(self.quote_paragraph(speakers[(turn // 2) % len(speakers)]))
            turn += 1
        while word_count(" ".join(paragraphs)) > MAX_WORDS and len(paragraphs) > 4:
            paragraphs.pop(-2)
        title = self.fill(rng.choice(TITLES))
        body = "\n\n".join(p.strip() for p in paragraphs)
        named = [p.name for p in self.people if p.name in self.introduced]
        orgs = [o for o in self.orgs if o in body]
        places = [p for p in (self.city, self.city2, self.country) if p in body]
        quotes = body.count('"') // 2
        return CorpusArticle(self.number, self.beat_name, _cap(title), body, named, orgs, places, quotes)


def generate(count: int, seed: int = DEFAULT_SEED) -> Iterator[CorpusArticle]:
    """`count` articles; the same seed always gives the same articles."""
    rng = random.Random(seed)
    for number in range(count):
        yield _Writer(rng, number).write()


def write_folder(articles: list[CorpusArticle], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for article in articles:
        path = folder / f"{article.slug}.txt"
        path.write_text(article.text, encoding="utf-8")
        paths.append(path)
    return paths


def write_jsonl(articles: list[CorpusArticle], path: Path, name: str = "bench") -> Path:
    """Article JSON lines, with the ids the files connector named `name` would give them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for article in articles:
            line = {"id": f"{name}/{article.slug}.txt", "title": article.title, "body": article.body}
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.corpus", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--jsonl", type=Path)
    args = parser.parse_args(argv)
    articles = list(generate(args.count, args.seed))
    write_folder(articles, args.folder)
    if args.jsonl:
        write_jsonl(articles, args.jsonl)
    words = sum(word_count(a.body) for a in articles)
    print(f"{len(articles)} articles, {words} words, {sum(a.quotes for a in articles)} quotes -> {args.folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
