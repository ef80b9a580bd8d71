"""Informal wording (s5-chat): text-speak and misspellings, symptom words that are not other
diseases, general phrasings, and the guard that keeps the questions of holdouts v3, v4 and v5
(development sets since s5-chat, s6-chat and s7-chat) out of the knowledge base's paraphrases. The
questions here are written for the tests, not taken from a question set."""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import pytest
import yaml

from poxscan.chat import MpoxChatbot, load_knowledge_base
from poxscan.chat.diagnosis import detect_diagnosis_request
from poxscan.chat.scope import mentions_other_topic
from poxscan.chat.text import content_text, load_lexicon, normalize

REPO = Path(__file__).resolve().parents[1]
NEAR_V3 = REPO / "tests" / "fixtures" / "chat_variants_near_v3_before_s5.txt"
NEAR_V4 = REPO / "tests" / "fixtures" / "chat_variants_near_v4_before_s6.txt"
NEAR_V5 = REPO / "tests" / "fixtures" / "chat_variants_near_v5_before_s7.txt"
NEAR_V6 = REPO / "tests" / "fixtures" / "chat_variants_near_v6_before_s9.txt"
NEAR_V7 = REPO / "tests" / "fixtures" / "chat_variants_near_v7_before_s9.txt"
NEAR_V8 = REPO / "tests" / "fixtures" / "chat_variants_near_v8_before_s10.txt"
NEAR_V9 = REPO / "tests" / "fixtures" / "chat_variants_near_v9_before_s11.txt"
NEAR_V10 = REPO / "tests" / "fixtures" / "chat_variants_near_v10_before_s12.txt"
NEAR_V11 = REPO / "tests" / "fixtures" / "chat_variants_near_v11_before_s13.txt"
NEAR_V12 = REPO / "tests" / "fixtures" / "chat_variants_near_v12_before_s14.txt"
NEAR_V13 = REPO / "tests" / "fixtures" / "chat_variants_near_v13_before_s15.txt"
NEAR_V14 = REPO / "tests" / "fixtures" / "chat_variants_near_v14_before_s16.txt"
NEAR_V15 = REPO / "tests" / "fixtures" / "chat_variants_near_v15_before_s17.txt"
NEAR_V16 = REPO / "tests" / "fixtures" / "chat_variants_near_v16_before_s18.txt"
NEAR_V17 = REPO / "tests" / "fixtures" / "chat_variants_near_v17_before_s19.txt"
NEAR_V18 = REPO / "tests" / "fixtures" / "chat_variants_near_v18_before_s20.txt"
NEAR_V19 = REPO / "tests" / "fixtures" / "chat_variants_near_v19_before_s21.txt"
NEAR_V20 = REPO / "tests" / "fixtures" / "chat_variants_near_v20_before_s22.txt"
NEAR_V21 = REPO / "tests" / "fixtures" / "chat_variants_near_v21_before_s23.txt"
NEAR_V22 = REPO / "tests" / "fixtures" / "chat_variants_near_v22_before_s24.txt"


@pytest.fixture(scope="module")
def bot() -> MpoxChatbot:
    return MpoxChatbot()


def test_text_speak_and_misspellings_read_as_words():
    assert normalize("wen shud i c a docter") == "when should i c a doctor"
    assert normalize("how lng is it contagius") == "how long is it contagious"
    assert normalize("im hiv+ n worried") == "i am hiv positive and worried"
    assert normalize("leisons on my freind") == "lesions on my friend"
    assert normalize("sore wit a tempreture") == "sore with a temperature"


def test_s7_misspellings_and_spellings_of_the_name_read_as_words():
    # "dose" before a subject is "does"; a dose question keeps its word.
    assert normalize("how long dose it last") == "how long does it last"
    assert normalize("what dose of tpoxx") == "what dose of tpoxx"
    assert normalize("can it get in ur eys") == "can it get in your eyes"
    assert normalize("is that diarea from mpox") == "is that diarrhea from mpox"
    assert normalize("are you sure it isnt mpox") == "are you sure it is not mpox"
    # Dropped letters and the short name typed apart or as it sounds.
    for spelling in ("mokeypox", "mnkypox", "monkeypx", "m pox", "m.pox", "empox", "mpocks"):
        assert normalize(f"what is {spelling}") == "what is mpox", spelling
    assert normalize("chicken pocks or small pox") == "chickenpox or smallpox"
    # Words that only look alike are left alone.
    assert normalize("make sure") == "make sure" and normalize("mix it") == "mix it"


def test_s9_misspellings_read_as_words():
    assert normalize("can i borrow towles") == "can i borrow towels"
    assert normalize("mpox twise") == "mpox twice"
    assert normalize("alchohol after the jab") == "alcohol after the jab"
    assert normalize("a subcutanous dose") == "a subcutaneous dose"


def test_s10_misspellings_read_as_words():
    assert normalize("does it stay on serfaces") == "does it stay on surfaces"
    assert normalize("my contact lenes hurt") == "my contact lenses hurt"
    assert normalize("ibuprofine or paracetomol") == "ibuprofen or paracetamol"
    assert normalize("my colegue was dignosed") == "my colleague was diagnosed"
    assert normalize("clamydia or gonorea") == "chlamydia or gonorrhea"
    assert normalize("does it acually work") == "does it actually work"
    # another disease's name misspelt is still another topic
    assert mentions_other_topic(normalize("how is ghonorrea treated")) == "gonorrhea"


def test_s14_misspellings_read_as_words(bot):
    assert normalize("pls daignose this") == "please diagnose this"
    assert normalize("a bunp on my leg") == "a bump on my leg"
    assert normalize("any cuer yet") == "any cure yet"
    assert normalize("are mpx smptms bad") == "are mpox symptoms bad"
    assert mentions_other_topic(normalize("how much protien do i need")) == "daily needs"
    # the rules read the corrected words: a misspelt request is still refused
    assert bot.reply("could you diagnoise the spots on my chest").kind == "refusal"


def test_s15_misspellings_read_as_words(bot):
    assert normalize("why was it caled monkeypox") == "why was it called mpox"
    assert normalize("is mpox simular to herpes") == "is mpox similar to herpes"
    assert normalize("where can i get a tset") == "where can i get a test"
    # asking for plain words carries no topic
    assert normalize("in simple terms, how is mpox treated") == ", how is mpox treated"
    assert bot.reply("whats monkeypox, in plain english please").entry_id == "what_is_mpox"
    # the comparison rule reads the corrected word: a look-alike compared gets the testing entry
    assert bot.reply("are mpox and syphilis smilar").entry_id == "testing"


def test_s14_spanish_and_portuguese_names_read_mpox(bot):
    assert normalize("la viruela símica") == "la mpox"
    assert normalize("varíola dos macacos") == "mpox"
    # "mono" inside the Spanish name is not mononucleosis
    assert mentions_other_topic(normalize("¿qué es la viruela del mono?")) is None
    reply = bot.reply("¿la vacuna protege contra la viruela del mono?")
    assert reply.kind == "answer", reply.reason


@pytest.mark.parametrize(
    "name",
    ["variole du singe", "affenpocken", "vaiolo delle scimmie", "apenpokken", "cacar monyet"],
)
def test_s17_more_languages_name_mpox(bot, name):
    assert normalize(f"what is {name}") == "what is mpox"
    assert bot.reply(f"{name} vaccine, who should get it").entry_id == "vaccine_eligibility"


def test_s17_misspelt_and_slang_words_reach_their_entries(bot):
    assert normalize("brest milk and wartz") == "breast milk and warts"
    assert bot.reply("can i catch mpox from giving head").entry_id == "sexual_contact"
    assert bot.reply("is mpox gods punishment for sinners").entry_id == "who_at_risk"
    assert bot.reply("am i talking to chatgpt").entry_id == "about_tool"


def test_s18_misspelt_words_and_phrasings_reach_their_entries(bot):
    assert normalize("moskito bactiria impetago") == "mosquito bacteria impetigo"
    assert bot.reply("whats the diff between syphilis and mpox").entry_id == "testing"
    assert bot.reply("my shoulder itches where the nurse gave me the jab").entry_id == (
        "vaccine_side_effects"
    )
    assert bot.reply("can you catch mpox doing judo").kind == "answer"
    assert bot.reply("is second hand clothing safe with mpox around").entry_id == (
        "contaminated_materials"
    )


def test_s19_greetings_in_other_languages_carry_no_topic(bot):
    assert normalize("merhaba, what is mpox") == "what is mpox"
    assert normalize("privet! how does mpox spread") == "how does mpox spread"
    assert bot.reply("vanakkam, can i catch mpox in a bathhouse").entry_id == "casual_contact"
    assert bot.reply("what can this bot help with").entry_id == "about_tool"


def test_s20_pidgin_askers_and_everyday_words_reach_their_entries(bot):
    assert normalize("abeg wetin be mpox") == "please what be mpox"
    assert bot.reply("wetin be mpox").entry_id == "what_is_mpox"
    # Who is asking carries no topic ("asks" was ranked with the incubation entry).
    assert bot.reply("my cousin asks how mpox spreads").entry_id == "transmission_overview"
    # Food cooked by someone else is not what to eat while ill.
    assert bot.reply("is it safe to eat food cooked by someone with mpox").entry_id != (
        "treatment_overview"
    )


def test_s21_everyday_situations_reach_their_entries(bot):
    assert normalize("a pasenger tomorow") == "a passenger tomorrow"
    # Going out a lot (socially) is not going out while ill; a grandchild's claim is no remedy.
    assert bot.reply("we go out a lot to clubs, should we get the mpox jab").entry_id != "isolation"
    assert bot.reply(
        "my nan says mpox is a punishment, my granddaughter says it isnt, who is right"
    ).entry_id not in ("unproven_remedies", None)


def test_s11_misspelt_common_diseases_stay_another_topic():
    assert normalize("my diabeties and asthama") == "my diabetes and asthma"
    assert normalize("tuberclosis or maleria") == "tuberculosis or malaria"
    # read before the scope rules: the misspelt disease is another topic, not an mpox question
    assert mentions_other_topic(normalize("what is the cure for diabetis")) == "diabetes"
    assert mentions_other_topic(normalize("how does tubercolosis spread")) == "tuberculosis"
    assert mentions_other_topic(normalize("is high blood presure dangerous")) == "blood pressure"


def test_s15_any_misspelt_disease_name_stays_another_topic(bot):
    # not listed in the lexicon: read by their closeness to a one-word topic name
    assert mentions_other_topic(normalize("how do you catch scabbies")) == "scabies"
    assert mentions_other_topic(normalize("is clamydia curable")) == "chlamydia"
    assert mentions_other_topic(normalize("what helps with psoraisis")) == "psoriasis"
    assert bot.reply("how do i get rid of ringwarm").kind == "unknown"
    # a real word close to a name is not that disease ("single" and "shingles")
    assert mentions_other_topic(normalize("is a single blister a sign of it")) is None


def test_s11_courtesy_around_a_question_is_dropped(bot):
    assert normalize("Good afternoon doc, kindly tell me what mpox is. Many thanks!") == (
        "tell me what mpox is"
    )
    assert normalize("hey there! hope you are well. can kids catch it? thx") == "can kids catch it?"
    # a greeting or thanks alone asks nothing
    assert bot.reply("hiya, how are you doing?").kind == "unknown"
    assert bot.reply("thank you very much").kind == "unknown"
    # words that only start like a greeting stay ("high fever", "hiv")
    assert normalize("high fever and hiv") == "high fever and hiv"
    # the filler of a long question is no topic (the spelling fix had read "hear" as "heart")
    assert content_text(normalize("basically i keep hearing about it")) == "keep"
    # a greeting does not hide a request to judge one's own rash
    assert detect_diagnosis_request(normalize("hello there, got bumps on my lip. mpox?"))


def test_irregular_contractions_expand_to_their_words():
    # "won't" had read "wo not", and "wo" is text-speak for "without".
    assert normalize("he won't drink") == "he will not drink"
    assert normalize("i can't breathe") == "i can not breathe"
    assert normalize("it doesn't itch") == "it does not itch"


def test_pox_alone_reads_mpox_but_other_poxes_keep_their_names():
    assert normalize("got the pox") == "got the mpox"
    assert normalize("chicken pox or small pox") == "chickenpox or smallpox"
    assert normalize("monkey pox") == "mpox"


def test_symptom_wordings_do_not_name_another_disease():
    for text in ("flu-like aches then spots", "feeling hot and cold", "cold sweats at night"):
        assert mentions_other_topic(normalize(text)) is None, text
    # The diseases themselves still do.
    assert mentions_other_topic(normalize("how long does the flu last")) == "flu"
    assert mentions_other_topic(normalize("i caught a cold")) == "cold"


def test_general_wordings_add_the_knowledge_base_words():
    assert "air" in content_text(normalize("does it float around in the air"))
    assert "viru" in content_text(normalize("what kind of germ causes it"))
    # "a type of ..." asks what mpox is; "what types of mpox" still asks about clades.
    assert "clade" not in content_text(normalize("is it a type of std"))
    assert "clade" in content_text(normalize("what types of mpox are there"))
    assert "insect" in content_text(normalize("can ticks carry it"))
    assert "chatbot" in content_text(normalize("are you an actual nurse"))
    assert "unproven" in content_text(normalize("do bleach baths help"))
    assert "effective" in content_text(normalize("is the jab protective"))
    # s7-chat: stomach symptoms read as mpox symptoms only beside mpox.
    assert "gut" in content_text(normalize("can mpox give you the runs"))
    assert "gut" not in content_text(normalize("how do i stop diarrhea"))


@pytest.mark.parametrize(
    ("question", "entry_id"),
    [
        ("flu-like aches before spots, normal?", "fever_flu_like"),
        ("does mpox float in the air", "respiratory"),
        ("what sort of virus is monkey pox", "what_is_mpox"),
        ("can bugs like mosquitoes give u mpox", "transmission_overview"),
        ("how protective is the mpox jab", "vaccine_effectiveness"),
        ("r u an actual doctor", "about_tool"),
        # s6-chat: where on the body, caring for sores, sweat and spit, places, risk groups,
        # shingles and smallpox comparisons, who may get the vaccine.
        ("is it possible to get mpox on the tongue", "rash_locations"),
        ("could you have just one or two sores with mpox", "rash_locations"),
        ("is it bad to burst the spots", "treatment_overview"),
        ("tips to help mpox sores heal faster", "treatment_overview"),
        ("can mpox pass through saliva", "transmission_overview"),
        ("can i catch mpox getting a piercing", "contaminated_materials"),
        ("are escorts more at risk of mpox", "who_at_risk"),
        ("do straight couples get mpox", "who_at_risk"),
        ("shingles vs mpox whats the difference", "mpox_vs_chickenpox"),
        ("how does mpox compare to smallpox", "what_is_mpox"),
        ("who is allowed to get jynneos", "vaccine_eligibility"),
        # Severity, complications and warning signs ("really ill", "bad case", "red flags").
        ("which people get really ill from mpox", "severe_disease_risk"),
        ("who is most likely to have a bad case of mpox", "severe_disease_risk"),
        ("red flags that mpox is getting worse", "seek_care"),
        ("possible bad effects of mpox on the body", "complications"),
        # Vaccine questions naming the brand, news, kinds of virus, non-native wording.
        ("is one shot of jynneos enough", "vaccine_doses"),
        ("how long does the mpox vaccine protect u for", "vaccine_effectiveness"),
        ("who gets offered the vaccine", "vaccine_eligibility"),
        ("why was mpox in the news in 2022", "outbreak_2022"),
        ("how many kinds of mpox virus exist", "clades"),
        ("after i meet person with mpox when i will see symptom", "incubation_period"),
        ("is feeling achy and shivery part of mpox", "fever_flu_like"),
        ("who gets the worst mpox", "severe_disease_risk"),
        # Reactions to a named vaccine, spread compared with covid or flu, a plane as a
        # place, living with someone without catching it.
        ("reactions to the jynneos vaccine", "vaccine_side_effects"),
        ("does mpox spread as easily as covid", "respiratory"),
        ("is monkeypox as catchy as the flu", "respiratory"),
        ("can you catch mpox in a plane from the person beside you", "casual_contact"),
        ("my brother has mpox, how do i look after him without catching it", "prevention_overview"),
        # s7-chat: spread without symptoms, shared bathrooms and belongings, condoms, sitz
        # baths, stomach symptoms, how serious it is, smallpox identity, being told by a
        # partner, how long the rash lasts.
        ("can a person with no symptoms pass mpox on", "contagious_period"),
        ("could i catch mpox off a shared toilet at work", "contaminated_materials"),
        ("is it ok to use my flatmates towel if he has mpox", "contaminated_materials"),
        ("do condoms stop monkeypox fully", "safer_sex"),
        ("do warm baths help mpox sores hurt less", "pain_management"),
        ("can mpox give you the runs", "symptoms_overview"),
        ("does mpox make you throw up", "symptoms_overview"),
        ("is mpox really that dangerous", "fatality"),
        ("is mpox the same disease as smallpox", "what_is_mpox"),
        ("my date just texted that she has mpox, what should i do now", "after_exposure"),
        ("how long do the sores last", "illness_duration"),
        # Clade 1 or 2 by number (not clade Ib), what kills the virus, going places while ill,
        # where mpox is now, whether it is new, feeling ill after getting the vaccine.
        ("is clade 1 more deadly", "clades"),
        ("what kills the mpox virus", "hygiene_cleaning"),
        ("can i go to the gym with mpox", "isolation"),
        ("where is mpox now", "outbreak_2022"),
        ("is mpox new", "history_origin"),
        ("will i feel sick after getting jynneos", "vaccine_side_effects"),
        # The vaccine for children and teenagers (the children entry says who under 18 gets it).
        ("are teenagers allowed the mpox jab", "children"),
        ("can my 15 year old get jynneos", "children"),
        ("is there an mpox vaccine for kids", "children"),
        # Origins, passing it on to a partner, how likely it kills.
        ("mpox origins", "history_origin"),
        ("how do i avoid giving mpox to my girlfriend", "isolation"),
        ("what are the odds mpox kills you", "fatality"),
        # How bad mpox is beside another disease (the fatality entry), beside smallpox (what
        # mpox is: usually milder).
        ("is monkeypox as bad as covid", "fatality"),
        ("is mpox deadlier than smallpox", "what_is_mpox"),
        # Text-speak numbers and letters, the baby "in the belly", "how I protect".
        ("hw meny jabs of jynneos", "vaccine_doses"),
        ("can monkeypox kil u", "fatality"),
        ("mpox can go to the baby in my tummy?", "pregnancy_newborns"),
        ("no jab where i live, how i protect from mpox", "prevention_overview"),
        # s9-chat: a massage, masks, leaving home, sex once healed, itching, contact lenses,
        # whether the vaccine gives mpox or still lets it through, where it is injected, no
        # symptoms after some weeks, PrEP, Congo now, how common mpox is, never heard of it,
        # picking it up somewhere (not picking at sores), clades 1 and 2 (not clade Ib).
        ("is a full body massage risky for catching mpox", "transmission_overview"),
        ("do i need to wear a face mask when i have mpox", "isolation"),
        ("am i allowed to leave my flat while i have monkeypox", "isolation"),
        ("when is it ok to have sex again once the sores heal", "isolation"),
        ("any cream for the itch from mpox spots", "treatment_overview"),
        ("are contact lenses ok if i have monkeypox", "eye_symptoms"),
        ("does the jynneos shot cause mpox", "vaccines_overview"),
        ("could i catch mpox even though i am fully vaccinated", "vaccine_effectiveness"),
        ("is jynneos injected into the muscle", "vaccine_doses"),
        ("it has been 4 weeks with no symptoms, am i in the clear", "incubation_period"),
        ("will prep stop me getting mpox", "hiv_treatment_prep"),
        ("is there an mpox outbreak in the drc now", "clade_ib"),
        ("how widespread is monkeypox these days", "outbreak_2022"),
        ("never heard of monkeypox, what is it", "what_is_mpox"),
        ("could i pick mpox up from a sauna", "casual_contact"),
        ("which clade is worse, 1 or 2", "clades"),
        ("is it safe to have sex after my jynneos shot", "vaccine_side_effects"),
        # Which comes first, the fever or the rash; how not to catch it; spreading before
        # the spots; how long it can hide.
        ("do spots come before a temperature with mpox", "fever_flu_like"),
        ("does the temperature start after the sores in mpox", "fever_flu_like"),
        ("what can i do to not get monkeypox", "prevention_overview"),
        ("is mpox catching before the blisters appear", "contagious_period"),
        ("can monkeypox lie dormant for weeks", "incubation_period"),
        ("what kills mpox on a kitchen counter", "hygiene_cleaning"),
        # Pain or bleeding from the rectum (where the sores are; easing it is pain relief),
        # losing smell or taste, the treatment when very ill.
        ("does monkeypox cause bleeding from the backside", "rash_locations"),
        ("how do i manage pain in my bum from mpox sores", "pain_management"),
        ("can mpox take away your taste", "symptoms_overview"),
        ("what medicine do they give if you get very sick with mpox", "treatment_overview"),
        # "how soon could / would" symptoms start; someone "just got diagnosed with" it.
        ("hooked up with a guy 3 days ago, how soon could symptoms start", "incubation_period"),
        ("my sister just got diagnosed with mpox, what do we do", "after_exposure"),
        # Medical shorthand, and what is good for pain in the bottom (pain relief).
        ("sx of monkeypox in kids?", "children"),
        ("main sx of mpox", "symptoms_overview"),
        ("whats good for monkeypox pain in the bum", "pain_management"),
        # s10-chat: someone else has it and the asker asks what they must do themselves; the
        # asker has it and asks how to protect the people at home.
        ("my teammate caught mpox, should i get checked", "after_exposure"),
        ("my neighbour tested positive for mpox, will i need to stay home", "after_exposure"),
        ("i was diagnosed with mpox, how do i stop my kids catching it", "isolation"),
        ("positive for mpox and living with my mum, how not to pass it to her", "isolation"),
        # How long the virus lasts on things; hotel and gym items; what to clean with.
        ("can mpox stay alive in a towel for days", "contaminated_materials"),
        ("is a hotel duvet a way to get monkeypox", "contaminated_materials"),
        ("what must we clean in the house after mpox", "hygiene_cleaning"),
        # Being ill for weeks; pain when going to the toilet; how many sores; contacts;
        # a mother's milk.
        ("am i going to be poorly for weeks with mpox", "illness_duration"),
        ("does monkeypox burn when you poop", "rash_locations"),
        ("how many blisters does someone with mpox usually have", "rash_locations"),
        ("can i keep in my contacts with mpox", "eye_symptoms"),
        ("is mums milk safe for the baby if she has mpox", "pregnancy_newborns"),
        # How long it takes to show (not to go away); whether a named vaccine really works.
        ("how long will monkeypox usually take to appear", "incubation_period"),
        ("does the imvanex jab really work", "vaccine_effectiveness"),
        ("how long does mpox take to clear up", "illness_duration"),
        # s11-chat: folk remedies (oils, butters, plants, salt water to cure it, advice heard).
        ("would rubbing almond oil on the scabs make mpox go", "unproven_remedies"),
        ("can cocoa butter fix mpox marks fast", "unproven_remedies"),
        ("my granny told me to boil moringa for monkeypox", "unproven_remedies"),
        ("will bathing in salt water heal monkeypox", "unproven_remedies"),
        # Stigma and shame; how bad it can get when someone calls it mild or just spots.
        ("should people feel embarrassed if they catch mpox", "who_at_risk"),
        ("is there a stigma around monkeypox", "who_at_risk"),
        ("they say mpox is harmless, could it be dangerous though", "complications"),
        ("mpox is only a couple of pimples isnt it", "complications"),
        # Living beside someone who has it: sleeping apart, covering the sores, time off work.
        ("my boyfriend caught mpox, is it ok if we keep sleeping together", "isolation"),
        ("do the spots need to be covered when i go out with mpox", "isolation"),
        ("one of my workers has monkeypox, how many days should he be kept off", "isolation"),
        # When the vaccine starts to protect (not how long it lasts); booking it, a GP giving it.
        ("how long after my second shot until i am immune", "vaccine_doses"),
        ("does the jynneos jab begin to work straight away", "vaccine_doses"),
        ("can the pharmacy give me an mpox jab", "vaccine_eligibility"),
        ("how do i book a monkeypox vaccination", "vaccine_eligibility"),
        ("how long does the protection of the mpox jab last", "vaccine_effectiveness"),
        # Filler words of a long question are not topics ("this thing", "different stuff");
        # "catching" as a verb, "protection from" the virus, "how many times" for the jab.
        (
            "been reading different stuff about this mpox thing, what are the signs of it",
            "symptoms_overview",
        ),
        ("the babies can catching the monkeypox?", "children"),
        ("what gives protection against mpox", "prevention_overview"),
        ("how many times do you get the mpox jab", "vaccine_doses"),
        # Whether the jab stops you catching it; why it spread so widely in 2022.
        ("will my jab keep me from catching monkeypox", "vaccine_effectiveness"),
        ("does getting vaccinated stop u catching it", "vaccine_effectiveness"),
        ("how come mpox spread to so many places in 2022", "outbreak_2022"),
        ("why was everyone talking about mpox in 2022", "outbreak_2022"),
        # A kiss on the cheek is a greeting (casual contact), not sex.
        ("is a peck on the cheek enough to pass on mpox", "casual_contact"),
        # Formal wording of how to avoid it.
        ("are there any measures against contracting mpox", "prevention_overview"),
        ("what precautions are advised against monkeypox", "prevention_overview"),
        # s12-chat: everyday objects handed on or shared (money, parcels, phones, tools,
        # make-up); looking after oneself at home; a teenager's age; symptoms by sex; an HIV
        # test beside mpox; viruses of the same family.
        ("can handling banknotes give you mpox", "contaminated_materials"),
        ("are parcels from abroad a mpox risk", "contaminated_materials"),
        ("can a shared lipstick spread mpox", "contaminated_materials"),
        ("can the barber's clippers carry monkeypox", "contaminated_materials"),
        ("how do i take care of myself at home with mpox", "treatment_overview"),
        ("my son is 14, is he old enough for the monkeypox jab", "children"),
        ("can teens get mpox", "children"),
        ("what are the mpox symptoms for guys", "symptoms_overview"),
        ("is an hiv test needed when you have mpox", "hiv_and_mpox"),
        ("is monkeypox a cousin of cowpox", "what_is_mpox"),
        # Health and care workers asking about their own risk from patients or clients.
        ("im a care worker, can i pick up mpox off the residents", "who_at_risk"),
        ("as a dental nurse am i likely to get mpox from my patients", "who_at_risk"),
        # A separate bed, room, bathroom, toilet or towel in the singular too.
        ("does she need a separate toilet while she has mpox", "isolation"),
        # s13-chat: made in a lab, man-made, a bioweapon, brand new -> where it came from.
        ("was monkeypox made in a laboratory", "history_origin"),
        ("is mpox man made", "history_origin"),
        ("is it a brand new disease", "history_origin"),
        # s14-chat: the two names compared ("monkeypox" reads "mpox": "mpox vs mpox").
        ("is there a difference between monkeypox and mpox", "name_change"),
        ("monkey pox versus mpox, which is right", "name_change"),
        # s15-chat: household chores (hoovering, vacuuming, mopping, sweeping, dusting).
        ("can i hoover the flat when my partner has mpox", "hygiene_cleaning"),
        ("is sweeping up ok after monkeypox or should i wait", "hygiene_cleaning"),
        # Places of worship and gatherings are public places (casual contact).
        ("is friday prayer at the masjid or a synagogue risky for monkeypox", "casual_contact"),
        ("can you catch mpox at a wedding reception", "casual_contact"),
        # Wild, zoo and farm animals and those who work with them.
        ("as a vet nurse could i get monkeypox from the chimps at the zoo", "animal_to_human"),
        ("does wildlife or livestock carry mpox", "animal_to_human"),
        # A nursing home is no breastfeeding question; care homes keep residents apart.
        ("our nursing home has a mpox case, what now for the other residents", "isolation"),
        # The jab's schedule or timetable is the doses entry.
        ("timings of the monkeypox vaccine, when is the 2nd one", "vaccine_doses"),
        # Whether it is real at all (a hoax, made up, a conspiracy) -> what mpox is.
        ("is monkeypox real or just a conspiracy", "what_is_mpox"),
        ("is mpox a plandemic", "what_is_mpox"),
        # When the symptoms would or will start after a contact -> incubation.
        ("my date had monkeypox, when might it kick in for me", "incubation_period"),
        # How a clinician tells it is mpox, a lab, a home or pharmacy test -> testing.
        ("how do clinicians work out if its mpox", "testing"),
        ("can the doctor know it is mpox by looking or do they need the lab", "testing"),
        # How contagious it is beside covid, the flu or a cold -> the airborne entry.
        ("mpox or covid, which one is more contagious", "respiratory"),
        ("what is more catchy, flu or mpox", "respiratory"),
        # The mpox jab before a trip: who should get it.
        ("should i get the monkeypox jab before my trip to uganda", "vaccine_eligibility"),
        ("is the mpox vaccine recommended for travel to africa", "vaccine_eligibility"),
        # s20-chat: older people, farm animals, how long the jab protects, things touched, care
        # of sores and food while ill, the bot itself, covid, the flu at the start.
        ("is mpox riskier for older adults", "severe_disease_risk"),
        ("can goats or chickens catch mpox", "animal_to_human"),
        ("does the protection from jynneos wear off", "vaccine_effectiveness"),
        ("can mpox live on a door handle", "contaminated_materials"),
        ("should i squeeze the mpox blisters", "treatment_overview"),
        ("can i shave my legs while i have mpox", "treatment_overview"),
        ("what food should i eat while i have mpox", "treatment_overview"),
        ("are you a robot", "about_tool"),
        ("what topics can you answer", "about_tool"),
        ("how does mpox differ from covid-19", "respiratory"),
        ("is mpox like the flu at the start", "fever_flu_like"),
        # s21-chat: transport, furniture, semen, birth, tecovirimat's side effects, caring for
        # someone ill, how many jabs, what the bot can answer, going out while ill.
        ("could i catch mpox from someone on a crowded train", "casual_contact"),
        ("can mpox survive on a couch cushion", "contaminated_materials"),
        ("is mpox found in sperm", "sexual_contact"),
        ("what happens if a baby is born to a mother with mpox at birth", "pregnancy_newborns"),
        ("does tpoxx have side effects", "tecovirimat"),
        ("i am caring for my dad who has mpox, how do i stay safe", "isolation"),
        ("how many mpox shots do i need to be protected", "vaccine_doses"),
        ("what sort of topics are you able to answer", "about_tool"),
        ("could you diagnose someone if i list the symptoms", "about_tool"),
        ("can i still go out with mpox", "isolation"),
        # s22-chat: warning signs, a positive test, before 2022, cutlery, misspelt words.
        ("what are the red flags with mpox", "seek_care"),
        ("my mpox test came back positive, now what", "isolation"),
        ("was mpox around before the 2022 outbreak", "history_origin"),
        ("can mpox spread on cutlery", "contaminated_materials"),
        ("what questions may i ask here", "about_tool"),
        ("who is allowed tecovrimat", "tecovirimat"),
        ("is a condum enough against mpox", "safer_sex"),
        ("my mum is on kemo, is mpox worse for her", "severe_disease_risk"),
    ],
)
def test_informal_questions_reach_their_entry(bot, question, entry_id):
    reply = bot.reply(question)
    assert (reply.kind, reply.entry_id) == ("answer", entry_id), (question, reply.reason)


def test_spelling_correction_does_not_read_a_word_with_a_letter_before_another():
    retriever = MpoxChatbot().retriever
    # "spain" is not "pain" (a letter before a word), "simptoms" is still "symptoms".
    assert "pain" not in retriever.correct_spelling("capital spain").split()
    assert "symptom" in retriever.correct_spelling("simptom")


def test_a_lexicon_with_a_repeated_key_is_a_clear_error(tmp_path):
    # PyYAML keeps the last of two equal keys silently, which would drop the first's patterns.
    path = tmp_path / "lexicon.yaml"
    path.write_text(
        "replace:\n  a:\n    u: you\nexpand:\n  b:\n    fever: [temp]\n    fever: [hot]\n",
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match=r"lexicon\.yaml: duplicate key 'fever' \(line 7\)"):
        load_lexicon(path)
    # The shipped lexicon has none (it loads).
    assert load_lexicon().expand


def _norm_q(text: str) -> str:
    return re.sub(r"\W+", " ", text.lower()).strip()


@pytest.mark.parametrize(
    ("name", "fixture", "minimum"),
    [
        ("v3", NEAR_V3, 150),
        ("v4", NEAR_V4, 140),
        ("v5", NEAR_V5, 150),
        # s9-chat: v6 (a development set since s8-chat) and v7 (since s9-chat) too.
        ("v6", NEAR_V6, 190),
        ("v7", NEAR_V7, 180),
        # s10-chat: v8 (a development set since s10-chat).
        ("v8", NEAR_V8, 220),
        # s11-chat: v9 (a development set since s11-chat).
        ("v9", NEAR_V9, 220),
        # s12-chat: v10 (a development set since s12-chat).
        ("v10", NEAR_V10, 260),
        # s13-chat: v11 (a development set since s13-chat).
        ("v11", NEAR_V11, 260),
        # s14-chat: v12 (a development set since s14-chat).
        ("v12", NEAR_V12, 280),
        # s15-chat: v13 (a development set since s15-chat).
        ("v13", NEAR_V13, 280),
        # s16-chat: v14 (a development set since s16-chat).
        ("v14", NEAR_V14, 280),
        # s17-chat: v15 (a development set since s17-chat).
        ("v15", NEAR_V15, 280),
        # s18-chat: v16 (a development set since s18-chat).
        ("v16", NEAR_V16, 280),
        # s19-chat: v17 (a development set since s19-chat).
        ("v17", NEAR_V17, 280),
        # s20-chat: v18 (a development set since s20-chat).
        ("v18", NEAR_V18, 280),
        # s21-chat: v19 (a development set since s21-chat).
        ("v19", NEAR_V19, 280),
        # s22-chat: v20 (a development set since s22-chat).
        ("v20", NEAR_V20, 280),
        # s23-chat: v21 (a development set since s23-chat).
        ("v21", NEAR_V21, 280),
        # s24-chat: v22 (a development set since s24-chat).
        ("v22", NEAR_V22, 280),
    ],
)
def test_no_new_knowledge_base_variant_is_close_to_a_former_holdout_question(
    name, fixture, minimum
):
    # v3 (since s5-chat), v4 (s6-chat), v5 (s7-chat), v6 and v7 are development sets: their
    # misses may guide general fixes, but no paraphrase may copy one of their questions
    # (difflib ratio >= 0.8). Variants that were that close before (listed in the fixture,
    # mostly short common questions) are allowed.
    key = f"holdout_{name}"
    with open(REPO / "experiments" / f"chat_{key}.yaml", encoding="utf-8") as handle:
        questions = [_norm_q(it["q"]) for it in yaml.safe_load(handle)[key]]
    before = {
        line.strip()
        for line in fixture.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    variants = [
        (entry.id, v)
        for entry in load_knowledge_base().entries
        for v in map(_norm_q, entry.questions)
        if v not in before
    ]
    close = []
    matcher = difflib.SequenceMatcher(None)
    for q in questions:
        matcher.set_seq2(q)  # the matcher caches its second sequence
        for entry_id, variant in variants:
            matcher.set_seq1(variant)
            # The two quick ratios are upper bounds of ratio(): the same test, much cheaper.
            if (
                matcher.real_quick_ratio() >= 0.8
                and matcher.quick_ratio() >= 0.8
                and matcher.ratio() >= 0.8
            ):
                close.append((entry_id, variant, q))
    assert close == []
    assert len(questions) >= minimum
