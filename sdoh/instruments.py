"""Social-needs screening instruments: questions, answers, positive-screen rules, and identified needs.

Pure Python (no Django, no database) so that forms, the API, the FHIR facade and imports can all
score a screening the same way, and so the rules can be tested against the shared FHIR corpus.

Two instruments, each keyed by its LOINC panel code:

* ``96777-8`` — CMS Accountable Health Communities (AHC) Health-Related Social Needs (HRSN)
  screening tool, the five core domains. Question and answer codes as in LOINC panel 96777-8 and
  the US Core examples of it (``QuestionnaireResponse-AHC-HRSN-screening-example``,
  ``Observation-AHC-HRSN-panel-example-96777-8`` and the item examples in HL7/US-Core), cross-checked
  against the answer list of the New York SCN HRSN data dictionary, which implements the same panel.
  96778-6 is the "problems with the place you live" question, not a panel; 97023-6 is the
  supplemental-questions panel, which we do not score.
  Positive-screen rules, from the CMS tool ("Accountable Health Communities Core Health-Related
  Social Needs Screening Questions", 2018 update, and "A Guide to Using the AHC HRSN Screening
  Tool", CMS/Mathematica, June 2021):

  1. Living situation: "I have a place to live today, but I am worried about losing it in the
     future" or "I do not have a steady place to live", or any problem with the place one lives
     (pests, mold, lead, heat, oven/stove, smoke detectors, water leaks).
  2. Food: "Often true" or "Sometimes true" to either question (the Hunger Vital Sign rule).
  3. Transportation: "Yes".
  4. Utilities: "Yes" or "Already shut off".
  5. Interpersonal safety: the four HITS items are scored Never 1 … Frequently 5 and summed
     (4–20); "a value greater than 10 … indicates a positive screen", i.e. 11 or more. Published
     validation (HITS, and its AHC adaptation) uses the same 11–20 band.

  The supplemental substance-use items (68517-2 and its three siblings) are accepted and recorded
  so that an AHC screening carrying them can be read, but they are not scored: issue 7 asks for the
  core domains only, and we have not verified the supplemental rules against the guide.

* ``93025-5`` — NACHC PRAPARE, as coded in LOINC panel 93025-5 and the corpus examples
  (``Questionnaire-prapare-example``, ``QuestionnaireResponse-PRAPARE-example`` and the
  ``Observation-PRAPARE-*`` item and panel examples). A question counts as a social risk when its
  answer is the plainly adverse one (no housing, worried about losing housing, less than high
  school, unemployed, uninsured, any unmet material need, transportation kept me from…, contact
  less than once a week, stress "quite a bit"/"very much", jail, not feeling safe, afraid of a
  partner). The SDOH Clinical Care IG (Gravity) examples make the same reading for housing status
  ("I do not have housing" → homelessness Condition), employment ("Unemployed" → employment-status
  Condition) and the material-needs multiselect (clothing / child care → material hardship). We do
  not compute NACHC's weighted PRAPARE risk score, nor income against the poverty line (that needs
  a yearly table); personal characteristics (race, ethnicity, language, veteran, farm work, refugee,
  household size, address, income) are recorded, not scored.

Need categories follow the Gravity Project codes of the SDOHCC temporary code system where one
exists (``gravity_code``); suggested problems carry the SNOMED CT / ICD-10-CM codes of the Gravity
examples (food insecurity, homelessness, unemployment), updated to the billable ICD-10-CM code where
Gravity's example uses a code that has since become a header (Z59.4 → Z59.41, Z59.0 → Z59.00), and
ICD-10-CM Z codes otherwise only where one plainly fits. A coder still confirms any code.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
GRAVITY = "http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes"

AHC_HRSN = "96777-8"
PRAPARE = "93025-5"


# --- Needs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Coding:
    system: str
    code: str
    display: str


@dataclass(frozen=True)
class NeedCategory:
    """What a positive domain becomes on the member: a need, with a care-plan problem and goal.

    `problem` is written for the care team; `goal` in the member's own words, because goals are
    agreed with the member and shown to them.
    """

    code: str
    title: str
    gravity_code: str | None
    problem: str
    goal: str
    problem_codes: tuple[Coding, ...] = ()
    goal_codes: tuple[Coding, ...] = ()


def _sct(code: str, display: str) -> Coding:
    return Coding(SNOMED, code, display)


def _icd(code: str, display: str) -> Coding:
    return Coding(ICD10CM, code, display)


NEED_CATEGORIES: dict[str, NeedCategory] = {
    need.code: need
    for need in (
        NeedCategory(
            "homelessness",
            "Homelessness",
            "homelessness",
            "Homelessness: no steady place to live",
            "I will have a safe, steady place to live.",
            (_sct("32911000", "Homeless"), _icd("Z59.00", "Homelessness unspecified")),
        ),
        NeedCategory(
            "housing_instability",
            "Housing instability",
            "housing-instability",
            "Housing instability: housed, but worried about losing housing",
            "I will keep a steady home that I can afford.",
            (_icd("Z59.819", "Housing instability, housed unspecified"),),
        ),
        NeedCategory(
            "inadequate_housing",
            "Inadequate housing",
            "inadequate-housing",
            "Inadequate housing: problems with the place the member lives",
            "The problems in my home will be fixed, or I will move to a safe, healthy home.",
            (_icd("Z59.10", "Inadequate housing, unspecified"),),
        ),
        NeedCategory(
            "food_insecurity",
            "Food insecurity",
            "food-insecurity",
            "Food insecurity",
            "I will have enough food for me and my household every day.",
            (_sct("733423003", "Food insecurity"), _icd("Z59.41", "Food insecurity")),
            (_sct("1078229009", "Food security"),),
        ),
        NeedCategory(
            "transportation_insecurity",
            "Transportation insecurity",
            "transportation-insecurity",
            "Transportation insecurity: lack of transportation kept the member from care or daily needs",
            "I will have a reliable way to get to my appointments, to work, and to the places I need to go.",
            (_icd("Z59.82", "Transportation insecurity"),),
        ),
        NeedCategory(
            "utility_insecurity",
            "Utility insecurity",
            "utility-insecurity",
            "Utility insecurity: utilities shut off or threatened with shut-off",
            "My electricity, gas, oil and water will stay on.",
            # New in ICD-10-CM FY2026; its inclusion terms name the utility disconnect notice.
            (_icd("Z59.861", "Financial insecurity, difficulty paying for utilities"),),
        ),
        NeedCategory(
            "interpersonal_safety",
            "Interpersonal safety",
            # Gravity has intimate-partner-violence and elder-abuse, both narrower than the AHC
            # questions, which ask about anyone, "including family and friends".
            None,
            "Interpersonal safety concern: member reports being hurt, insulted, threatened or screamed at",
            "I will feel safe with the people around me and know how to get help if I need it.",
        ),
        NeedCategory(
            "intimate_partner_violence",
            "Intimate partner violence",
            "intimate-partner-violence",
            "Intimate partner violence risk: afraid of a partner or ex-partner in the past year",
            "I will feel safe in my relationships and have a plan for getting help if I need it.",
        ),
        NeedCategory(
            "material_hardship",
            "Material hardship",
            "material-hardship",
            "Material hardship: unable to get clothing, child care, medicine or health care, a phone, or other "
            "necessities when needed",
            "I will be able to get the basic things my household needs.",
            (_icd("Z59.87", "Material hardship due to limited financial resources, not elsewhere classified"),),
        ),
        NeedCategory(
            "educational_attainment",
            "Educational attainment",
            "educational-attainment",
            "Less than a high school diploma",
            "I will get help to reach my school or training goals, if I want it.",
            (_icd("Z55.5", "Less than a high school diploma"),),
        ),
        NeedCategory(
            "unemployment",
            "Unemployment",
            "employment-status",
            "Unemployment",
            "I will get help finding work that fits my life, if I want it.",
            (_sct("73438004", "Unemployed"), _icd("Z56.0", "Unemployment, unspecified")),
        ),
        NeedCategory(
            "uninsured",
            "No health insurance",
            "health-insurance-coverage-status",
            "No health insurance coverage",
            "I will have health insurance that covers the care I need.",
            (_icd("Z59.7", "Insufficient social insurance and welfare support"),),
        ),
        NeedCategory(
            "social_isolation",
            "Social isolation",
            "social-connection",
            "Social isolation: sees or talks to people they feel close to less than once a week",
            "I will be in touch with people I care about more often.",
            (_icd("Z60.4", "Social exclusion and rejection"),),
        ),
        NeedCategory(
            "stress",
            "Stress",
            "stress",
            "High stress",
            "I will have ways to handle stress and feel calmer day to day.",
            (_icd("Z73.3", "Stress, not elsewhere classified"),),
        ),
        NeedCategory(
            "incarceration",
            "Recent incarceration",
            "incarceration-status",
            "Recent incarceration: more than 2 nights in a row in jail, prison or detention in the past year",
            "I will have the support I need after my time in jail or detention.",
            (_icd("Z65.1", "Imprisonment and other incarceration"),),
        ),
    )
}


# --- Instrument definitions --------------------------------------------------------------------


class Kind(StrEnum):
    CHOICE = "choice"
    INTEGER = "integer"
    DECIMAL = "decimal"
    TEXT = "text"


@dataclass(frozen=True)
class AnswerOption:
    """One LOINC answer. `need` names the need category this answer is a risk for; `score` is the
    item's points where the instrument sums them; `exclusive` answers ("None of the above", "No",
    "I choose not to answer") cannot be combined with others on a multi-select question."""

    code: str
    display: str
    need: str | None = None
    score: int | None = None
    exclusive: bool = False
    declined: bool = False  # "I choose not to answer": a response, but it rules nothing out


@dataclass(frozen=True)
class Question:
    code: str
    text: str
    options: tuple[AnswerOption, ...] = ()
    kind: Kind = Kind.CHOICE
    multiple: bool = False
    required: bool = True
    # A multi-select with no "none of these" answer: in a complete screening, nothing selected
    # means none applies.
    blank_means_none: bool = False

    def option(self, code: str) -> AnswerOption | None:
        return next((option for option in self.options if option.code == code), None)


@dataclass(frozen=True)
class Domain:
    """A group of questions screened together. A domain with `threshold` is positive when the sum of
    its items' scores reaches it (`total_question`, if answered, carries the tool's own sum)."""

    code: str
    title: str
    questions: tuple[str, ...]
    threshold: int | None = None
    need: str | None = None  # for a scored domain: the need a positive score becomes
    total_question: str | None = None


@dataclass(frozen=True)
class Instrument:
    code: str
    name: str
    title: str
    questions: tuple[Question, ...]
    domains: tuple[Domain, ...]
    panels: tuple[str, ...] = ()  # sub-panel codes that also identify this instrument
    hints: tuple[str, ...] = ()  # words in a Questionnaire URL or a derivedFrom that name it
    _by_code: dict[str, Question] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_code", {question.code: question for question in self.questions})

    def question(self, code: str) -> Question | None:
        return self._by_code.get(code)


def _options(*pairs: tuple[str, str], need: str | None = None) -> tuple[AnswerOption, ...]:
    return tuple(AnswerOption(code, display, need=need) for code, display in pairs)


YES = ("LA33-6", "Yes")
NO = ("LA32-8", "No")
DECLINED = AnswerOption("LA30122-8", "I choose not to answer this question", exclusive=True, declined=True)

_HITS = (
    AnswerOption("LA6270-8", "Never", score=1),
    AnswerOption("LA10066-1", "Rarely", score=2),
    AnswerOption("LA10082-8", "Sometimes", score=3),
    AnswerOption("LA16644-9", "Fairly often", score=4),
    AnswerOption("LA6482-9", "Frequently", score=5),
)
_HUNGER = (
    AnswerOption("LA28397-0", "Often true", need="food_insecurity"),
    AnswerOption("LA6729-3", "Sometimes true", need="food_insecurity"),
    AnswerOption("LA28398-8", "Never true"),
)
_HOW_MANY_TIMES = _options(
    ("LA6270-8", "Never"),
    ("LA26460-8", "Once or twice"),
    ("LA18876-5", "Monthly"),
    ("LA18891-4", "Weekly"),
    ("LA18934-2", "Daily or almost daily"),
)
SAFETY_POSITIVE_AT = 11

AHC = Instrument(
    code=AHC_HRSN,
    name="AHC HRSN",
    title="Accountable Health Communities (AHC) Health-Related Social Needs Screening Tool",
    hints=("ahc", "hrsn"),
    questions=(
        Question(
            "71802-3",
            "What is your living situation today?",
            (
                AnswerOption("LA31993-1", "I have a steady place to live"),
                AnswerOption(
                    "LA31994-9",
                    "I have a place to live today, but I am worried about losing it in the future",
                    need="housing_instability",
                ),
                AnswerOption(
                    "LA31995-6",
                    "I do not have a steady place to live (I am temporarily staying with others, in a hotel, in a "
                    "shelter, living outside on the street, on a beach, in a car, abandoned building, bus or train "
                    "station, or in a park)",
                    need="homelessness",
                ),
            ),
        ),
        Question(
            "96778-6",
            "Think about the place you live. Do you have problems with any of the following?",
            (
                *_options(
                    ("LA31996-4", "Pests such as bugs, ants, or mice"),
                    ("LA28580-1", "Mold"),
                    ("LA31997-2", "Lead paint or pipes"),
                    ("LA31998-0", "Lack of heat"),
                    ("LA31999-8", "Oven or stove not working"),
                    ("LA32000-4", "Smoke detectors missing or not working"),
                    ("LA32001-2", "Water leaks"),
                    need="inadequate_housing",
                ),
                AnswerOption("LA9-3", "None of the above", exclusive=True),
            ),
            multiple=True,
        ),
        Question(
            "88122-7",
            "Within the past 12 months, you worried that your food would run out before you got money to buy more.",
            _HUNGER,
        ),
        Question(
            "88123-5",
            "Within the past 12 months, the food you bought just didn't last and you didn't have money to get more.",
            _HUNGER,
        ),
        Question(
            "93030-5",
            "In the past 12 months, has lack of reliable transportation kept you from medical appointments, "
            "meetings, work or from getting things needed for daily living?",
            (AnswerOption(*YES, need="transportation_insecurity"), AnswerOption(*NO)),
        ),
        Question(
            "96779-4",
            "In the past 12 months has the electric, gas, oil, or water company threatened to shut off services "
            "in your home?",
            (
                AnswerOption(*YES, need="utility_insecurity"),
                AnswerOption(*NO),
                AnswerOption("LA32002-0", "Already shut off", need="utility_insecurity"),
            ),
        ),
        Question("95618-5", "How often does anyone, including family and friends, physically hurt you?", _HITS),
        Question("95617-7", "How often does anyone, including family and friends, insult or talk down to you?", _HITS),
        Question("95616-9", "How often does anyone, including family and friends, threaten you with harm?", _HITS),
        Question("95615-1", "How often does anyone, including family and friends, scream or curse at you?", _HITS),
        # Calculated by the tool; optional here, and checked against the items when both are given.
        Question("95614-4", "Safety total score", kind=Kind.INTEGER, required=False),
        # Supplemental (substance use): recorded, not scored.
        Question(
            "68517-2",
            "How many times in the past 12 months have you had 5 or more drinks in a day (males) or 4 or more "
            "drinks in a day (females)?",
            _HOW_MANY_TIMES,
            required=False,
        ),
        Question(
            "96842-0", "How often have you used any tobacco product in past 12 months?", _HOW_MANY_TIMES, required=False
        ),
        Question(
            "95530-2",
            "How many times in the past year have you used prescription drugs for non-medical reasons?",
            _HOW_MANY_TIMES,
            required=False,
        ),
        Question(
            "68524-8", "How many times in the past year have you used illegal drugs?", _HOW_MANY_TIMES, required=False
        ),
    ),
    domains=(
        Domain("living_situation", "Living situation", ("71802-3", "96778-6")),
        Domain("food", "Food", ("88122-7", "88123-5")),
        Domain("transportation", "Transportation", ("93030-5",)),
        Domain("utilities", "Utilities", ("96779-4",)),
        Domain(
            "interpersonal_safety",
            "Interpersonal safety",
            ("95618-5", "95617-7", "95616-9", "95615-1"),
            threshold=SAFETY_POSITIVE_AT,
            need="interpersonal_safety",
            total_question="95614-4",
        ),
    ),
)


def _prapare_choice(
    code: str,
    text: str,
    *options: AnswerOption,
    declinable: bool = True,
    multiple: bool = False,
    required: bool = True,
    blank_means_none: bool = False,
) -> Question:
    """PRAPARE offers "I choose not to answer this question" on almost every item."""
    return Question(
        code,
        text,
        (*options, DECLINED) if declinable else options,
        multiple=multiple,
        required=required,
        blank_means_none=blank_means_none,
    )


PRAPARE_INSTRUMENT = Instrument(
    code=PRAPARE,
    name="PRAPARE",
    title="Protocol for Responding to and Assessing Patients' Assets, Risks, and Experiences (PRAPARE)",
    panels=("93043-8", "93042-0", "93041-2", "93040-4", "93039-6"),
    hints=("prapare",),
    questions=(
        # Personal characteristics (93043-8): recorded.
        _prapare_choice("56051-6", "Hispanic or Latino", *_options(YES, NO), required=False),
        _prapare_choice(
            "32624-9",
            "Race",
            *_options(
                ("LA6156-9", "Asian"),
                ("LA14045-1", "Native Hawaiian"),
                ("LA30187-1", "Pacific Islander"),
                ("LA14042-8", "Black/African American"),
                ("LA4457-3", "White"),
                ("LA4-4", "American Indian/Alaskan Native"),
                ("LA46-8", "Other"),
            ),
            multiple=True,
            required=False,
        ),
        _prapare_choice(
            "93035-4",
            "Has season or migrant farm work been your or your family's main source of income at any point in "
            "past 2 years?",
            *_options(YES, NO),
            required=False,
        ),
        _prapare_choice("93034-7", "Discharged from the U.S. Armed Forces", *_options(YES, NO), required=False),
        _prapare_choice(
            "54899-0",
            "Preferred language",
            *_options(("LA43-5", "English"), ("LA30188-9", "Language other than English")),
            required=False,
        ),
        # Family and home (93042-0).
        Question(
            "63512-8", "How many people are living or staying at this address?", kind=Kind.INTEGER, required=False
        ),
        _prapare_choice(
            "71802-3",
            "Housing status",
            AnswerOption("LA30189-7", "I have housing"),
            AnswerOption(
                "LA30190-5",
                "I do not have housing (staying with others, in a hotel, in a shelter, living outside on the street, "
                "on a beach, in a car, or in a park)",
                need="homelessness",
            ),
        ),
        _prapare_choice(
            "93033-9",
            "Are you worried about losing your housing?",
            AnswerOption(*YES, need="housing_instability"),
            AnswerOption(*NO),
        ),
        Question("56799-0", "Address", kind=Kind.TEXT, required=False),
        # Money and resources (93041-2).
        _prapare_choice(
            "82589-3",
            "What is the highest level of school that you have finished?",
            AnswerOption("LA30191-3", "Less than high school degree", need="educational_attainment"),
            *_options(("LA30192-1", "High school diploma or GED"), ("LA30193-9", "More than high school")),
        ),
        _prapare_choice(
            "67875-5",
            "What is your current work situation?",
            AnswerOption("LA17956-6", "Unemployed", need="unemployment"),
            *_options(
                ("LA30138-4", "Part-time or temporary work"),
                ("LA30136-8", "Full-time work"),
                (
                    "LA30137-6",
                    "Otherwise unemployed but not seeking work (ex: student, retired, disabled, unpaid primary care "
                    "giver)",
                ),
            ),
        ),
        _prapare_choice(
            "76437-3",
            "What is your main insurance?",
            AnswerOption("LA30194-7", "None/uninsured", need="uninsured"),
            *_options(
                ("LA17849-3", "Medicaid"),
                ("LA30195-4", "CHIP Medicaid"),
                ("LA15652-3", "Medicare"),
                ("LA30196-2", "Other public insurance (not CHIP)"),
                ("LA30197-0", "Other public insurance (CHIP)"),
                ("LA6350-8", "Private insurance"),
            ),
            declinable=False,  # LOINC's list for this item has no "choose not to answer"
        ),
        Question(
            "63586-2",
            "What was your best estimate of the total income of all family members from all sources, before "
            "taxes, in last year?",
            kind=Kind.DECIMAL,
            required=False,
        ),
        _prapare_choice(
            "93031-3",
            "In the past year, have you or any family members you live with been unable to get any of the "
            "following when it was really needed?",
            AnswerOption("LA30125-1", "Food", need="food_insecurity"),
            AnswerOption("LA30126-9", "Clothing", need="material_hardship"),
            AnswerOption("LA30124-4", "Utilities", need="utility_insecurity"),
            AnswerOption("LA30127-7", "Child care", need="material_hardship"),
            AnswerOption(
                "LA30128-5",
                "Medicine or Any Health Care (Medical, Dental, Mental Health, Vision)",
                need="material_hardship",
            ),
            AnswerOption("LA30129-3", "Phone", need="material_hardship"),
            AnswerOption("LA46-8", "Other", need="material_hardship"),
            multiple=True,
            required=False,
            blank_means_none=True,
        ),
        Question(
            "93030-5",
            "Has lack of transportation kept you from medical appointments, meetings, work, or from getting things "
            "needed for daily living?",
            (
                AnswerOption(
                    "LA30133-5",
                    "Yes, it has kept me from medical appointments or from getting my medications",
                    need="transportation_insecurity",
                ),
                AnswerOption(
                    "LA30134-3",
                    "Yes, it has kept me from non-medical meetings, appointments, work, or from getting things that I "
                    "need",
                    need="transportation_insecurity",
                ),
                AnswerOption(*NO, exclusive=True),
                AnswerOption("LA30257-2", "Patient unable to respond", exclusive=True, declined=True),
            ),
            multiple=True,
        ),
        # Social and emotional health (93040-4).
        _prapare_choice(
            "93029-7",
            "How often do you see or talk to people that you care about and feel close to?",
            AnswerOption("LA27722-0", "Less than once a week", need="social_isolation"),
            *_options(
                ("LA30130-1", "1 or 2 times a week"),
                ("LA30131-9", "3 to 5 times a week"),
                ("LA30132-7", "5 or more times a week"),
            ),
        ),
        _prapare_choice(
            "93038-8",
            "Stress is when someone feels tense, nervous, anxious or can't sleep at night because their mind is "
            "troubled. How stressed are you?",
            *_options(("LA6568-5", "Not at all"), ("LA13863-8", "A little bit"), ("LA13909-9", "Somewhat")),
            AnswerOption("LA13902-4", "Quite a bit", need="stress"),
            AnswerOption("LA13914-9", "Very much", need="stress"),
        ),
        # Optional additional questions (93039-6).
        _prapare_choice(
            "93028-9",
            "In the past year, have you spent more than 2 nights in a row in a jail, prison, detention center, or "
            "juvenile correctional facility?",
            AnswerOption(*YES, need="incarceration"),
            AnswerOption(*NO),
            required=False,
        ),
        _prapare_choice("93027-1", "Are you a refugee?", *_options(YES, NO), required=False),
        _prapare_choice(
            "93026-3",
            "Do you feel physically and emotionally safe where you currently live?",
            AnswerOption(*YES),
            AnswerOption(*NO, need="interpersonal_safety"),
            AnswerOption("LA14072-5", "Unsure"),
            required=False,
        ),
        _prapare_choice(
            "76501-6",
            "In the past year, have you been afraid of your partner or ex-partner?",
            AnswerOption(*YES, need="intimate_partner_violence"),
            AnswerOption(*NO),
            declinable=False,  # the corpus Questionnaire offers Yes / No only
            required=False,
        ),
    ),
    domains=(
        Domain("housing", "Housing", ("71802-3", "93033-9")),
        Domain("education", "Education", ("82589-3",)),
        Domain("employment", "Employment", ("67875-5",)),
        Domain("insurance", "Insurance", ("76437-3",)),
        Domain("material_security", "Material security", ("93031-3",)),
        Domain("transportation", "Transportation", ("93030-5",)),
        Domain("social_integration", "Social integration", ("93029-7",)),
        Domain("stress", "Stress", ("93038-8",)),
        Domain("incarceration", "Incarceration", ("93028-9",)),
        Domain("safety", "Safety", ("93026-3",)),
        Domain("partner_safety", "Partner safety", ("76501-6",)),
    ),
)

INSTRUMENTS: dict[str, Instrument] = {AHC.code: AHC, PRAPARE_INSTRUMENT.code: PRAPARE_INSTRUMENT}


class InstrumentError(ValueError):
    """The instrument code names no instrument we score."""


def get_instrument(code: str) -> Instrument:
    try:
        return INSTRUMENTS[code]
    except KeyError:
        known = ", ".join(f"{i.code} ({i.name})" for i in INSTRUMENTS.values())
        raise InstrumentError(f"No screening instrument {code!r}; known: {known}.") from None


# --- Validation errors -------------------------------------------------------------------------


@dataclass(frozen=True)
class QuestionError:
    """One problem with one question, named by code and text so a form can show it by its field."""

    question_code: str
    question_text: str
    message: str

    def __str__(self) -> str:
        name = f"{self.question_code} “{self.question_text}”" if self.question_text else self.question_code
        return f"{name}: {self.message}"


class AnswerError(ValueError):
    """The answers do not fit the instrument. Carries every problem found, not just the first."""

    def __init__(self, errors: Sequence[QuestionError]):
        self.errors = tuple(errors)
        super().__init__("; ".join(str(error) for error in self.errors))

    def by_question(self) -> dict[str, list[str]]:
        """Messages keyed by question code, the shape a form's or serializer's errors take."""
        grouped: dict[str, list[str]] = {}
        for error in self.errors:
            grouped.setdefault(error.question_code, []).append(error.message)
        return grouped


# --- Results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SelectedAnswer:
    """An answer as evidence: what was asked and what was said, with both codes."""

    question_code: str
    question_text: str
    answer_code: str
    answer_display: str


@dataclass(frozen=True)
class IdentifiedNeed:
    category: NeedCategory
    domain: str
    evidence: tuple[SelectedAnswer, ...]


@dataclass(frozen=True)
class DomainResult:
    """`positive` is None when the domain cannot be judged: not asked, or (partial mode) not enough
    answered to rule a need out. `score` is the summed item score of a scored domain."""

    code: str
    title: str
    positive: bool | None
    evidence: tuple[SelectedAnswer, ...] = ()
    needs: tuple[IdentifiedNeed, ...] = ()
    score: int | None = None


@dataclass(frozen=True)
class ScreeningResult:
    instrument: Instrument
    answers: dict[str, tuple[str, ...]]
    domains: tuple[DomainResult, ...]
    partial: bool = False

    def domain(self, code: str) -> DomainResult:
        return next(domain for domain in self.domains if domain.code == code)

    @property
    def positive_domains(self) -> tuple[DomainResult, ...]:
        return tuple(domain for domain in self.domains if domain.positive)

    @property
    def needs(self) -> tuple[IdentifiedNeed, ...]:
        """One need per category, in domain order; evidence from several domains is merged (PRAPARE's
        food need can come from the material-needs question and nowhere else, but safety can come
        from two)."""
        merged: dict[str, IdentifiedNeed] = {}
        for domain in self.domains:
            for need in domain.needs:
                if need.category.code in merged:
                    first = merged[need.category.code]
                    merged[need.category.code] = IdentifiedNeed(
                        first.category, first.domain, first.evidence + need.evidence
                    )
                else:
                    merged[need.category.code] = need
        return tuple(merged.values())


# --- Scoring -----------------------------------------------------------------------------------

AnswerValue = str | Sequence[str]


def score(instrument_code: str, answers: Mapping[str, AnswerValue], *, partial: bool = False) -> ScreeningResult:
    """Validate `answers` (question LOINC code -> answer LOINC code, or a list for multi-select; numbers
    and text as strings) and apply the instrument's positive-screen rules.

    `partial=True` skips the required-question check, for a FHIR item read on its own or a screening
    entered over two visits; domains that cannot be judged then come back with `positive=None`.
    Raises `AnswerError` listing every bad answer, naming each question.
    """
    instrument = get_instrument(instrument_code)
    clean, errors = _clean(instrument, answers)
    if not partial:
        errors += [
            QuestionError(question.code, question.text, "This question is required.")
            for question in instrument.questions
            if question.required and not _as_values(answers.get(question.code, ()))
        ]
    errors += _total_score_errors(instrument, clean)
    if errors:
        order = {question.code: index for index, question in enumerate(instrument.questions)}
        raise AnswerError(sorted(errors, key=lambda error: order.get(error.question_code, len(order))))
    domains = tuple(_judge(instrument, domain, clean, partial=partial) for domain in instrument.domains)
    return ScreeningResult(instrument=instrument, answers=clean, domains=domains, partial=partial)


def _clean(
    instrument: Instrument, answers: Mapping[str, AnswerValue]
) -> tuple[dict[str, tuple[str, ...]], list[QuestionError]]:
    clean: dict[str, tuple[str, ...]] = {}
    errors: list[QuestionError] = []
    for code, value in answers.items():
        question = instrument.question(code)
        if question is None:
            errors.append(QuestionError(code, "", f"This is not a question of the {instrument.name} screening."))
            continue
        values = _as_values(value)
        if not values:
            continue  # an empty answer is no answer; the required check decides whether that is allowed
        problems = _answer_problems(question, values)
        errors += [QuestionError(question.code, question.text, problem) for problem in problems]
        if not problems:
            clean[code] = values
    return clean, errors


def _as_values(value: AnswerValue) -> tuple[str, ...]:
    """One answer or several, trimmed, blanks and repeats dropped, order kept."""
    items = [value] if isinstance(value, str) else list(value)
    seen: dict[str, None] = {}
    for item in items:
        text = str(item).strip()
        if text:
            seen.setdefault(text, None)
    return tuple(seen)


def _answer_problems(question: Question, values: tuple[str, ...]) -> list[str]:
    if len(values) > 1 and not question.multiple:
        return [f"This question takes one answer, not {len(values)}."]
    if question.kind is not Kind.CHOICE:
        return [problem for value in values if (problem := _value_problem(question.kind, value))]
    problems = []
    for value in values:
        if question.option(value) is None:
            allowed = ", ".join(f"{option.code} ({option.display})" for option in question.options)
            problems.append(f"{value!r} is not an answer to this question. Allowed: {allowed}.")
    if not problems and len(values) > 1:
        for value in values:
            option = question.option(value)
            if option is not None and option.exclusive:
                problems.append(f"“{option.display}” cannot be combined with other answers.")
    return problems


def _value_problem(kind: Kind, value: str) -> str | None:
    if kind is Kind.TEXT:
        return None
    if kind is Kind.INTEGER:
        return None if re.fullmatch(r"\d+", value) else f"{value!r} is not a whole number."
    try:
        number = Decimal(value)
    except InvalidOperation:
        return f"{value!r} is not a number."
    return None if number.is_finite() and number >= 0 else f"{value!r} is not a number of zero or more."


def _total_score_errors(instrument: Instrument, clean: Mapping[str, tuple[str, ...]]) -> list[QuestionError]:
    """A tool-calculated total must agree with its items: a mismatch means a miskeyed item or total,
    and scoring either one would hide the error."""
    errors = []
    for domain in instrument.domains:
        if domain.total_question is None or domain.total_question not in clean:
            continue
        question = instrument.question(domain.total_question)
        assert question is not None
        reported = int(clean[domain.total_question][0])
        low, high = len(domain.questions), len(domain.questions) * _max_item_score(instrument, domain)
        if not low <= reported <= high:
            errors.append(
                QuestionError(question.code, question.text, f"A total of {reported} is outside {low}–{high}.")
            )
            continue
        items = _item_scores(instrument, domain, clean)
        if len(items) == len(domain.questions) and sum(items) != reported:
            errors.append(
                QuestionError(
                    question.code,
                    question.text,
                    f"The reported total {reported} does not match the items' sum {sum(items)}.",
                )
            )
    return errors


def _max_item_score(instrument: Instrument, domain: Domain) -> int:
    return max(
        option.score or 0
        for code in domain.questions
        if (question := instrument.question(code))
        for option in question.options
    )


def _item_scores(instrument: Instrument, domain: Domain, clean: Mapping[str, tuple[str, ...]]) -> list[int]:
    scores = []
    for code in domain.questions:
        question = instrument.question(code)
        if question is not None and code in clean:
            option = question.option(clean[code][0])
            if option is not None and option.score is not None:
                scores.append(option.score)
    return scores


def _evidence(question: Question, values: Iterable[str]) -> Iterator[tuple[AnswerOption, SelectedAnswer]]:
    for value in values:
        option = question.option(value)
        if option is not None:
            yield option, SelectedAnswer(question.code, question.text, option.code, option.display)


def _judge(
    instrument: Instrument, domain: Domain, clean: Mapping[str, tuple[str, ...]], *, partial: bool
) -> DomainResult:
    if domain.threshold is not None:
        return _judge_scored(instrument, domain, clean)
    questions = [question for code in domain.questions if (question := instrument.question(code))]
    risks: dict[str, list[SelectedAnswer]] = {}
    for question in questions:
        for option, selected in _evidence(question, clean.get(question.code, ())):
            if option.need:
                risks.setdefault(option.need, []).append(selected)
    evidence = tuple(selected for group in risks.values() for selected in group)
    needs = tuple(IdentifiedNeed(NEED_CATEGORIES[need], domain.code, tuple(group)) for need, group in risks.items())
    if needs:
        positive: bool | None = True
    else:
        positive = False if _rules_out(questions, clean, partial=partial) else None
    return DomainResult(domain.code, domain.title, positive, evidence, needs)


def _rules_out(questions: Sequence[Question], clean: Mapping[str, tuple[str, ...]], *, partial: bool) -> bool:
    """Whether answers without a risk make the domain negative. Not when it was never asked, nor
    half-asked in partial mode, nor when a question was declined: none of these rule a need out."""
    answered = [q for q in questions if q.code in clean or (q.blank_means_none and not partial)]
    complete = all(q.code in clean for q in questions if q.required)
    declined = any(option.declined for q in questions for value in clean.get(q.code, ()) if (option := q.option(value)))
    return bool(answered) and complete and not declined


def _judge_scored(instrument: Instrument, domain: Domain, clean: Mapping[str, tuple[str, ...]]) -> DomainResult:
    """Sum the items. With every item answered, the sum decides; with some missing (partial mode) a
    sum already at the threshold is positive, since more answers can only raise it; otherwise the
    tool's own total, if given, decides."""
    assert domain.threshold is not None and domain.need is not None
    items = _item_scores(instrument, domain, clean)
    complete = len(items) == len(domain.questions)
    total: int | None = sum(items) if complete else None
    if total is None and domain.total_question in clean:
        total = int(clean[domain.total_question][0])
    if total is not None:
        positive: bool | None = total >= domain.threshold
    else:
        positive = True if sum(items) >= domain.threshold else None
    evidence = tuple(
        selected
        for code in domain.questions
        if (question := instrument.question(code))
        for option, selected in _evidence(question, clean.get(code, ()))
        if (option.score or 0) > 1  # "Never" made nobody positive
    )
    needs = (IdentifiedNeed(NEED_CATEGORIES[domain.need], domain.code, evidence),) if positive else ()
    return DomainResult(domain.code, domain.title, positive, evidence, needs, score=total)


# --- Reading FHIR ------------------------------------------------------------------------------


class FhirReadError(ValueError):
    """A FHIR resource that is not a readable AHC HRSN or PRAPARE screening, and why."""


Resolver = Mapping[str, Mapping] | Callable[[str], Mapping | None]
_LOINC_CODE = re.compile(r"^\d{1,7}-\d$")
_SKIPPED_STATUSES = {"entered-in-error", "cancelled"}


def from_fhir(
    resource: Mapping, *, resolve: Resolver | None = None, instrument: str | None = None
) -> tuple[str, dict[str, AnswerValue]]:
    """Read a screening from FHIR R4 JSON: a QuestionnaireResponse, a panel Observation (members by
    `hasMember`, resolved from a Bundle or `resolve`, or inline as `component`s), a single item
    Observation, or a Bundle holding any of these.

    Returns the instrument code and the answers found, ready for `score()`: a string per question, a
    list for multi-select questions. A single item gives a single answer; score it with
    `partial=True`. The instrument comes from `instrument`, else the panel or Questionnaire, else a
    `derivedFrom` that names it, else the one instrument that knows every question found.
    Validation of the answers is `score()`'s job; this raises `FhirReadError` only for what it cannot
    read at all.
    """
    if not isinstance(resource, Mapping):
        raise FhirReadError(f"Expected a FHIR resource as a JSON object, got {type(resource).__name__}.")
    kind = resource.get("resourceType")
    lookup = _lookup(resolve)
    if kind == "Bundle":
        resource, lookup = _bundle_root(resource, lookup)
        kind = resource.get("resourceType")
    if kind == "QuestionnaireResponse":
        pairs, named = _read_questionnaire_response(resource)
    elif kind == "Observation":
        pairs, named = _read_observation_root(resource, lookup)
    elif kind == "Questionnaire":
        raise FhirReadError("This is a Questionnaire (a blank form), not a screening; send its QuestionnaireResponse.")
    else:
        raise FhirReadError(f"Cannot read a screening from a {kind or 'resource without resourceType'}.")
    chosen = _choose_instrument(instrument or named, pairs)
    return chosen.code, _collect(chosen, pairs)


def _lookup(resolve: Resolver | None) -> Callable[[str], Mapping | None]:
    if resolve is None:
        return lambda reference: None
    if isinstance(resolve, Mapping):
        return resolve.get
    return resolve


def _bundle_root(
    bundle: Mapping, outer: Callable[[str], Mapping | None]
) -> tuple[Mapping, Callable[[str], Mapping | None]]:
    """The one screening a Bundle carries: its QuestionnaireResponse, else the Observation no other
    Observation lists as a member. Entries resolve each other's references."""
    resources = [entry["resource"] for entry in bundle.get("entry", []) if isinstance(entry.get("resource"), Mapping)]
    index: dict[str, Mapping] = {}
    for entry in bundle.get("entry", []):
        res = entry.get("resource")
        if isinstance(res, Mapping):
            if entry.get("fullUrl"):
                index[entry["fullUrl"]] = res
            if res.get("id"):
                index[f"{res.get('resourceType')}/{res['id']}"] = res

    def lookup(reference: str) -> Mapping | None:
        return index.get(reference) or outer(reference)

    responses = [res for res in resources if res.get("resourceType") == "QuestionnaireResponse"]
    if len(responses) == 1:
        return responses[0], lookup
    members = {
        _reference_key(member.get("reference", ""))
        for res in resources
        if res.get("resourceType") == "Observation"
        for member in res.get("hasMember", [])
    }
    roots = [
        res
        for res in resources
        if res.get("resourceType") == "Observation" and f"Observation/{res.get('id')}" not in members
    ]
    if len(responses) > 1 or len(roots) > 1 or (not responses and not roots):
        raise FhirReadError(
            f"The Bundle should hold one screening (a QuestionnaireResponse or a panel Observation); found "
            f"{len(responses)} QuestionnaireResponse and {len(roots)} top-level Observation resources."
        )
    return roots[0], lookup


def _reference_key(reference: str) -> str:
    """ "Observation/x", "http://host/fhir/Observation/x" and "Observation/x/_history/2" name one resource."""
    parts = reference.split("/_history/")[0].rstrip("/").split("/")
    return "/".join(parts[-2:])


def _read_questionnaire_response(response: Mapping) -> tuple[list[tuple[str, str]], str | None]:
    if response.get("status") in _SKIPPED_STATUSES:
        raise FhirReadError(f"This QuestionnaireResponse is {response['status']}.")
    pairs: list[tuple[str, str]] = []
    groups: list[str] = []
    for item in _walk_items(response.get("item", [])):
        answers = item.get("answer", [])
        code = _code_from_link_id(item.get("linkId", ""))
        if not answers:
            if code:
                groups.append(code)
            continue
        if code is None:
            raise FhirReadError(f"Item {item.get('linkId')!r} has answers but its linkId names no LOINC question.")
        pairs += [(code, _answer_value(code, answer)) for answer in answers]
    return pairs, _instrument_named(groups, [str(response.get("questionnaire", ""))])


def _walk_items(items: Iterable[Mapping]) -> Iterator[Mapping]:
    for item in items:
        yield item
        yield from _walk_items(item.get("item", []))
        for answer in item.get("answer", []):
            yield from _walk_items(answer.get("item", []))


def _code_from_link_id(link_id: str) -> str | None:
    """LOINC-built forms use the question's code as the last part of its linkId ("/93042-0/71802-3")."""
    last = link_id.rstrip("/").rsplit("/", 1)[-1]
    return last if _LOINC_CODE.match(last) else None


def _answer_value(code: str, answer: Mapping) -> str:
    if "valueCoding" in answer:
        return _loinc_answer(code, [answer["valueCoding"]])
    for key in ("valueInteger", "valueDecimal", "valueString"):
        if key in answer:
            return _plain(answer[key])
    raise FhirReadError(f"The answer to {code} is of a kind we do not read: {sorted(answer)}.")


def _loinc_answer(code: str, codings: Sequence[Mapping]) -> str:
    for coding in codings:
        if coding.get("system") in (LOINC, None) and coding.get("code"):
            return str(coding["code"])
    systems = ", ".join(sorted({str(coding.get("system")) for coding in codings})) or "none"
    raise FhirReadError(f"The answer to {code} has no LOINC code (coding systems: {systems}).")


def _plain(value: object) -> str:
    """Numbers as a form would have them: 6, not 6.0."""
    if isinstance(value, bool):
        raise FhirReadError("A yes/no answer must be coded, not a boolean.")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_observation_root(
    observation: Mapping, lookup: Callable[[str], Mapping | None]
) -> tuple[list[tuple[str, str]], str | None]:
    if observation.get("status") in _SKIPPED_STATUSES:
        raise FhirReadError(f"This Observation is {observation['status']}.")
    missing: list[str] = []
    pairs = list(_observation_pairs(observation, lookup, missing, seen=set()))
    if missing:
        raise FhirReadError(
            "The panel's members are not included; send them in a Bundle or pass `resolve`. Missing: "
            + ", ".join(missing)
            + "."
        )
    code = _observation_code(observation)
    hints = [
        str(source.get(key, "")) for source in observation.get("derivedFrom", []) for key in ("reference", "display")
    ]
    return pairs, _instrument_named([code], hints)


def _observation_code(observation: Mapping) -> str:
    codings = observation.get("code", {}).get("coding", [])
    for coding in codings:
        if coding.get("system") == LOINC and coding.get("code"):
            return str(coding["code"])
    raise FhirReadError(f"Observation {observation.get('id', '(no id)')} has no LOINC code.")


def _observation_pairs(
    observation: Mapping, lookup: Callable[[str], Mapping | None], missing: list[str], seen: set[str]
) -> Iterator[tuple[str, str]]:
    """An Observation's own answer, its components' answers, and its members' answers, depth first.
    Members that are entered in error, or say why there is no value (dataAbsentReason), add nothing."""
    code = _observation_code(observation)
    value = _observation_value(code, observation)
    if value is not None:
        yield code, value
    for component in observation.get("component", []):
        component_code = _observation_code(component)
        component_value = _observation_value(component_code, component)
        if component_value is not None:
            yield component_code, component_value
    for member in observation.get("hasMember", []):
        reference = member.get("reference", "")
        key = _reference_key(reference)
        if key in seen:
            continue
        seen.add(key)
        resolved = lookup(reference) or lookup(key)
        if resolved is None:
            missing.append(reference or "(a member without a reference)")
        elif resolved.get("status") not in _SKIPPED_STATUSES:
            yield from _observation_pairs(resolved, lookup, missing, seen)
    bare = value is None and not observation.get("hasMember") and not observation.get("component")
    if bare and "dataAbsentReason" not in observation:
        raise FhirReadError(f"Observation {observation.get('id', '(no id)')} ({code}) has no value, members or reason.")


def _observation_value(code: str, observation: Mapping) -> str | None:
    if "valueCodeableConcept" in observation:
        return _loinc_answer(code, observation["valueCodeableConcept"].get("coding", []))
    if "valueQuantity" in observation:
        return _plain(observation["valueQuantity"].get("value"))
    for key in ("valueInteger", "valueString"):
        if key in observation:
            return _plain(observation[key])
    unread = [key for key in observation if key.startswith("value")]
    if unread:
        raise FhirReadError(f"The answer to {code} is of a kind we do not read: {unread}.")
    return None


def _instrument_named(codes: Iterable[str], texts: Iterable[str]) -> str | None:
    """The instrument a panel or group code names, else one whose hint word appears in a
    Questionnaire URL or derivedFrom text."""
    for code in codes:
        for candidate in INSTRUMENTS.values():
            if code == candidate.code or code in candidate.panels:
                return candidate.code
    words = set(re.split(r"[^a-z0-9]+", " ".join(texts).lower()))
    named = [candidate.code for candidate in INSTRUMENTS.values() if words & set(candidate.hints)]
    return named[0] if len(named) == 1 else None


def _choose_instrument(named: str | None, pairs: Sequence[tuple[str, str]]) -> Instrument:
    if named is not None:
        return get_instrument(named)
    if not pairs:
        raise FhirReadError("No answers found, and nothing names the instrument.")
    codes = {code for code, _ in pairs}
    fits = [
        candidate
        for candidate in INSTRUMENTS.values()
        if all(
            (question := candidate.question(code)) is not None
            and (question.kind is not Kind.CHOICE or question.option(value) is not None)
            for code, value in pairs
        )
    ]
    if len(fits) == 1:
        return fits[0]
    if not fits:
        unknown = sorted(code for code in codes if not any(c.question(code) for c in INSTRUMENTS.values()))
        detail = f" Questions no instrument has: {', '.join(unknown)}." if unknown else ""
        raise FhirReadError(f"These answers are not an AHC HRSN or PRAPARE screening.{detail}")
    names = " and ".join(candidate.name for candidate in fits)
    raise FhirReadError(f"These answers fit both {names}; pass `instrument=` to say which.")


def _collect(instrument: Instrument, pairs: Iterable[tuple[str, str]]) -> dict[str, AnswerValue]:
    grouped: dict[str, list[str]] = {}
    for code, value in pairs:
        values = grouped.setdefault(code, [])
        if value not in values:
            values.append(value)
    answers: dict[str, AnswerValue] = {}
    for code, values in grouped.items():
        question = instrument.question(code)
        multiple = question.multiple if question else len(values) > 1
        answers[code] = values if multiple or len(values) > 1 else values[0]
    return answers
