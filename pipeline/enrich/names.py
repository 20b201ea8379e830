"""Word lists for cleaning entity mentions: titles, department fragments, place cues, genders."""

from __future__ import annotations

__all__ = [
    "ENTITY_LABELS",
    "PLACE_LABELS",
    "TITLE_WORDS",
    "DEPARTMENT_WORDS",
    "TITLE_HEADS",
    "CANONICAL_NAMES",
    "DIRECTION_WORDS",
    "PLACE_NOUNS",
    "ORG_NOUNS",
    "ORG_WORDS",
    "ORG_FIRST_WORDS",
    "PLACE_WORDS",
    "PERSON_NOUNS",
    "ACRONYM_STOPWORDS",
    "REPORTING_VERBS",
    "gender_of_title",
    "gender_of_first_name",
]

# spaCy labels that name a real-world thing; dates, numbers and amounts are not entities here.
ENTITY_LABELS = frozenset(
    {"PERSON", "ORG", "GPE", "LOC", "FAC", "NORP", "EVENT", "PRODUCT", "WORK_OF_ART", "LAW", "LANGUAGE"}
)
PLACE_LABELS = frozenset({"GPE", "LOC", "FAC"})

# Words that may precede a name as a title or office ("Prime Minister", "Dr.", "Defense Secretary").
TITLE_WORDS = frozenset(
    """
    mr mrs ms miss mx dr prof professor sir dame lord lady rev reverend father sister brother sheikh
    president vice prime minister secretary senator sen rep representative congressman congresswoman
    gov governor general gen lt lieutenant col colonel maj major capt captain sgt sergeant admiral adm
    chancellor king queen prince princess pope judge justice chief commissioner mayor ambassador
    deputy chairman chairwoman chairperson chair ceo cfo coo director spokesman spokeswoman spokesperson
    premier speaker leader archbishop bishop cardinal imam rabbi coach manager inspector detective
    superintendent officer constable agent attorney prosecutor councillor councilor councilman
    councilwoman assemblyman assemblywoman mp mep minister-president secretary-general
    foreign defense defence home health finance interior state treasury justice energy trade
    commerce education labor labour agriculture transport transportation environment culture
    homeland security economy u.s. us uk u.k. british american former acting senior interim
    opposition alderman alderwoman
    of the for
    """.split()
)
# Words that, alone, are a fragment of a title or department ("State" in "Secretary of State").
DEPARTMENT_WORDS = frozenset(
    """
    State Defense Defence Foreign Home Interior Health Treasury Justice Finance Energy Commerce
    Education Labor Labour Agriculture Transportation Transport Homeland Security Environment Trade
    Culture Economy Economic Affairs Development Housing Veterans Immigration War Navy Army
    """.split()
)
# The office word that follows or governs a department fragment.
TITLE_HEADS = frozenset(
    {"secretary", "minister", "ministry", "department", "secretariat", "committee", "spokesman",
     "spokeswoman", "spokesperson", "official", "officials", "chief", "adviser", "advisor", "office"}
)

CANONICAL_NAMES = {
    "us": "United States", "u.s.": "United States", "u.s": "United States", "usa": "United States",
    "u.s.a.": "United States", "united states": "United States",
    "united states of america": "United States",
    "uk": "United Kingdom", "u.k.": "United Kingdom", "united kingdom": "United Kingdom",
    "un": "United Nations", "u.n.": "United Nations", "united nations": "United Nations",
    "eu": "European Union", "european union": "European Union",
}

DIRECTION_WORDS = frozenset(
    """north south east west northeast northwest southeast southwest northern southern eastern
    western central outskirts city town village province region district suburbs heart cities
    towns villages provinces regions districts states countries""".split()
)
PLACE_NOUNS = frozenset(
    """city town village capital province region district state country camp neighbourhood
    neighborhood area port island county municipality enclave territory border hub lighthouse
    castle palace cathedral mosque temple prison airport harbour harbor valley peninsula""".split()
)
# Common nouns that stand for an organisation in "the ministry said".
ORG_NOUNS = frozenset(
    """ministry department company firm group agency organization organisation government court
    police army military party union council committee commission bank university hospital office
    authority board campaign team club network newspaper broadcaster regulator militia movement
    administration embassy foundation charity institute center centre service airline carrier
    retailer maker manufacturer startup insurer operator utility federation association league
    school station force carmaker automaker producer supplier exporter lender consultancy
    publisher studio brand chain giant conglomerate outlet broadcaster agency firm""".split()
)
# Capitalised words that make a name an organisation ("Skyward Airlines", "FC Norden").
ORG_WORDS = frozenset(
    """Airlines Airways Air Bank Bancorp Board Bureau Club Commission Committee Company Corp
    Corporation Council Court Department Energy FC Federation Forum Foundation Fund Group Inc
    Institute Ltd LLC Ministry Motors Office Organization Organisation Party Plc PLC Service
    Services Society Systems Technologies Terminals Union United University Association Agency
    Authority Coalition Alliance Army Navy Police Parliament Assembly Senate Congress College
    School Hospital Trust Times Post Journal News Network Broadcasting Holdings Partners Capital
    Securities Pharmaceuticals Labs Laboratories Industries Enterprises International Rovers""".split()
)
ORG_FIRST_WORDS = frozenset(
    """FC AC AFC SC Bank University Ministry Department Council Commission Office Federation
    Confederation Association Institute Church Party Royal Union""".split()
)
# Capitalised words that make a name a place ("Market Street", "Senkaku Islands").
PLACE_WORDS = frozenset(
    """Street St Road Avenue Boulevard Lane Square Bridge Islands Island River Valley Mountains
    Mountain Mount Lake Sea Ocean Bay Gulf Strait Coast Peninsula Desert Forest Park Highway
    Stadium Airport Station Harbour Harbor Canal Province County District Region Heights Hills
    Springs Creek Falls Beach""".split()
)
# Lower-case nouns naming a person's role, used to recognise a person next to them.
PERSON_NOUNS = frozenset(
    """pensioner farmer operator analyst spokesman spokeswoman spokesperson secretary minister
    director executive officer chairman chairwoman president founder author editor professor
    researcher scientist doctor nurse teacher student resident mother father son daughter wife
    husband lawyer attorney prosecutor judge mayor governor senator lawmaker councillor councilor
    manager coach player striker goalkeeper captain driver worker owner economist strategist
    trader investor diplomat ambassador commander general colonel officer soldier activist
    campaigner organiser organizer leader chief head deputy adviser advisor consultant partner
    novelist writer artist singer actor actress musician photographer journalist reporter
    correspondent historian lecturer survivor witness victim passenger pilot engineer developer
    designer chef shopkeeper landlord tenant neighbour neighbor villager official""".split()
)
ACRONYM_STOPWORDS = frozenset({"of", "the", "and", "for", "on", "in", "de", "du", "des", "la", "le", "&", "to", "at"})

# Verbs that attribute speech ("said", "told", "warned", "according to"), in every form news uses.
REPORTING_VERBS = frozenset(
    """
    say says said saying tell tells told telling add adds added adding warn warns warned warning
    write writes wrote writing insist insists insisted admit admits admitted note notes noted
    explain explains explained argue argues argued claim claims claimed state states stated
    declare declares declared announce announces announced reply replies replied respond responds
    responded ask asks asked urge urges urged caution cautions cautioned recall recalls recalled
    continue continues continued concede concedes conceded acknowledge acknowledges acknowledged
    stress stresses stressed emphasize emphasizes emphasized emphasise emphasises emphasised
    remark remarks remarked observe observes observed tweet tweets tweeted post posts posted
    shout shouts shouted plead pleads pleaded joke jokes joked complain complains complained
    predict predicts predicted promise promises promised vow vows vowed pledge pledges pledged
    suggest suggests suggested describe describes described call calls called counter counters
    countered agree agrees agreed confirm confirms confirmed deny denies denied reiterate
    reiterates reiterated testify testifies testified boast boasts boasted lament laments lamented
    muse mused whisper whispered yell yelled scream screamed answer answers answered quip quipped
    text texted email emailed maintain maintains maintained contend contends contended assert
    asserts asserted assure assures assured report reports reported conclude concludes concluded
    reflect reflects reflected recount recounts recounted charge charges charged
    accuse accuses accused proclaim proclaims proclaimed cry cried sigh sighed put puts
    calling describing noting insisting arguing claiming explaining stressing urging
    acknowledging admitting declaring warning adding saying telling writing
    according
    """.split()
)

_MALE_TITLES = frozenset({"mr", "sir", "lord", "king", "prince", "father", "brother", "congressman",
                          "chairman", "spokesman", "councilman", "assemblyman"})
_FEMALE_TITLES = frozenset({"mrs", "ms", "miss", "dame", "lady", "queen", "princess", "sister",
                            "congresswoman", "chairwoman", "spokeswoman", "councilwoman", "assemblywoman"})

_MALE_NAMES = frozenset(
    """john james robert michael william david richard joseph thomas charles christopher daniel
    matthew anthony antony mark donald steven paul andrew joshua kenneth kevin brian george timothy
    ronald edward jason jeffrey ryan jacob gary nicholas eric jonathan stephen larry justin scott
    brandon benjamin samuel gregory alexander frank patrick raymond jack dennis jerry tyler aaron
    jose adam henry nathan douglas zachary peter kyle walter ethan jeremy harold keith christian
    roger noah gerald carl terry sean austin arthur lawrence jesse dylan bryan joe jordan billy
    bruce albert willie gabriel logan alan juan wayne roy ralph randy eugene vincent russell elijah
    louis bobby philip johnny lloyd boris emmanuel olaf vladimir xi narendra benjamin recep
    volodymyr keir rishi justin mohammed muhammad ahmed ali omar hassan ivan sergei dmitry luis
    carlos pedro miguel marco luca giorgio pierre jean francois hans klaus tomas pavel piotr
    liam oliver elias felix hugo oscar leo max theo tobias jonas mateo diego rafael""".split()
)
_FEMALE_NAMES = frozenset(
    """mary patricia jennifer linda elizabeth barbara susan jessica sarah karen nancy lisa betty
    margaret sandra ashley kimberly emily donna michelle dorothy carol amanda melissa deborah
    stephanie rebecca sharon laura cynthia kathleen amy shirley angela helen anna brenda pamela
    nicole emma samantha katherine christine debra rachel catherine carolyn janet ruth maria heather
    diane virginia julie joyce victoria olivia kelly christina lauren joan evelyn judith megan
    cheryl andrea hannah martha jacqueline frances gloria ann teresa kathryn sara janice jean alice
    madison doris abigail julia judy grace denise amber marilyn beverly danielle theresa sophia
    marie diana brittany natalie isabella charlotte rose alexis kayla kamala hillary nancy angela
    ursula giorgia jacinda theresa liz kemi yvette priya aisha fatima leila layla sofia elena
    irina olga natalia anastasia ana lucia carmen ingrid astrid greta freya clara lea chloe
    camille amelie nadia mariam sabine marta agnieszka""".split()
)


def gender_of_title(word: str) -> str | None:
    """'m', 'f' or None for a title word such as 'Mr.' or 'Queen'."""
    word = word.lower().rstrip(".")
    if word in _MALE_TITLES:
        return "m"
    if word in _FEMALE_TITLES:
        return "f"
    return None


def gender_of_first_name(word: str) -> str | None:
    """'m', 'f' or None for a common first name; unknown and ambiguous names give None."""
    word = word.lower()
    male, female = word in _MALE_NAMES, word in _FEMALE_NAMES
    if male == female:
        return None
    return "m" if male else "f"
