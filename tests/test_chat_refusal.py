"""The diagnosis-refusal rule on informal wording (s4-chat): first-person requests to judge a
rash, photo or symptoms are refused; comparisons and general questions never are.

The phrasings were written for this test, in the ways people type (text-speak, misspellings,
no punctuation, photos, "pimple or mpox?"), not copied from any evaluation set.
"""

from __future__ import annotations

import pytest

from poxscan.chat.bot import MpoxChatbot
from poxscan.chat.diagnosis import detect_diagnosis_request
from poxscan.chat.text import normalize

#: Requests to judge the asker's (or someone close's) own rash, photo or symptoms.
OWN_VERDICT_REQUESTS = [
    "im terrified ive caught mpox",
    "rash on my chest mpox or allergy",
    "does my rash look like mpox",
    "do my spots look like monkeypox",
    "is this what mpox looks like",
    "this looks like mpox right?",
    "what is this rash",
    "what are these spots on my arm",
    "could i have caught mpox",
    "did i catch mpox",
    "i think i got it",
    "i think i have it",
    "do u think its mpox",
    "wud u say this is mpox",
    "is dis mpox",
    "iz it mpox",
    "is ths mpox",
    "does my son have it",
    "which one do i have chickenpox or mpox",
    "can you look at my pic",
    "can i send you a photo of my rash",
    "here is a pic of my rash",
    "look at this photo and tell me if its mpox",
    "what do you make of my rash",
    "what do u think of these spots",
    "analyse my photo",
    "scan my rash",
    "is a rash on my hand a sign of mpox",
    "should i be worried my rash is mpox",
    "mpox or just a pimple",
    "is it a pimple or mpox",
    "ingrown hair or mpox?",
    "bug bite or monkeypox",
    "i got mpox?",
    "i have mpox?",
    "am i positive for mpox",
    "have i got it",
    "pretty sure i have mpox",
    "i reckon i have monkeypox",
    "freaking out i might have mpox",
    "i might have mpox",
    "i may have mpox",
    "maybe i have mpox",
    "my bf might have mpox",
    "i feel like i have mpox",
    "are these mpox blisters",
    "is that an mpox sore",
    "could this rash be monkeypox",
    "could it be mpox",
    "my spots r they mpox",
    "does this count as mpox",
    "are my sores from mpox",
    "do these sores mean i have mpox",
    "does this mean i have mpox",
    "does that mean i have it",
    "does my rash mean mpox",
    "i have bumps on my dick is it mpox",
    "got a sore on my lip. mpox??",
    "my daughter has spots could she have mpox",
    "how do i know if this rash is mpox",
    "i have a fever and spots do i have monkey pox",
    "am i sick with mpox",
    "is it monkeypox or herpes on my lip",
    "mpox? sores on my arm",
    "can u tell if i have it",
    "is it mpox or something else",
    "i need to know if i have mpox",
    "tell me if i have it",
    "help is this mpox",
    "do these spots look mpox to u",
    "my symptoms match mpox right",
    "are my symptoms from mpox",
    "i have all the symptoms of mpox do i have it",
    "got red bumps on my balls, is it monkeypox??",
    "omg is this monkey pox",
    "pls is this mpox or not",
    # s18-chat: a finding described by the disease it resembles; odds asked for a finding.
    "my boyfriend has chickenpox-like blisters, tell me",
    "i have mpox type sores on my lip",
    "rate my chances, red spots on my chest since friday",
    # s22-chat: one's own finding, then reassurance asked.
    "i found spots on my hand, promise me they are harmless",
    # s21-chat: the capability question with a finding described is still a request.
    "can you diagnose me if i describe my symptoms? i have a rash on my arm",
    # s19-chat: one's own finding, then the name with a tag asking for agreement.
    "my daughter has blisters on her hands, chickenpox right?",
    "i got a sore down there after a hookup. mpox, yeah?",
    "please tell me my spots are only bug bites and not mpox",
    "mon fils a des boutons rouges depuis hier, c'est mpox?",
    "tengo ampollas en la boca, ¿es viruela del mono?",
    "mi pickney have spots all over him body, a mpox that?",
    "sores in my mouth could it be mpox",
    "my wife has a blister rash, does she have mpox",
    "does my baby have chickenpox or mpox",
    "so do i have it or not",
    "bumps on my arm, worried its mpox",
    "u think these r mpox?",
    "is my rash monkeypox or eczema",
    "are these lesions mpox",
    "can you confirm if i have mpox",
    "could these be mpox sores",
    "i have a spot on my face is this mpox",
    "my friend has spots is it mpox",
    "is that what i have",
    "i have sores and a fever, mpox right?",
    "what disease do i have",
    "please identify my rash",
    "could the bumps on my hand be mpox",
    "how likely is it that i have mpox",
    "what are the chances i have mpox",
    "is the rash on my leg mpox or just a rash",
    "tell me if these sores are mpox",
    "might my son have monkeypox",
    # s6-chat: a verdict asked for with "infected"/"positive", and a finding of one's own asked
    # about as "an mpox symptom".
    "do you think im infected",
    "from what i said would you say i am positive",
    "i have a lump in my groin, is that an mpox symptom?",
    "my husband has blisters on his hands is that an mpox thing",
    "would you say i have mpox",
    # Own findings then "what is it", "what does this look like to you", a finding then the
    # name without punctuation, "is it possible that I have it".
    "i have a sore on my penis, what is it",
    "got this rash on my neck what could it be",
    "what does this look like to you, red spots on my thigh",
    "what do you reckon, these bumps on my legs mpox?",
    "is it possible that i have mpox",
    # Non-native and misspelt wording, "confirm my rash", "tell me this is ... or no".
    "i has rash on hand, is mpox?",
    "please doctor tell me this is monkeypox or no",
    "is thiss mpox",
    "can you confirm my rash",
    # s7-chat: what a finding is asked indirectly ("can you tell what it is"), the bot's
    # opinion after own findings, a photo's verdict, "promise me it is not", what is on a
    # part of the body, "help me work out if".
    "there is a rash on my wifes shoulder, can you tell me what it is",
    "my son has red dots on his tummy, could u say what they are",
    "got bumps on my elbow. thoughts?",
    "spots on my hands and a temp, what do u reckon",
    "does my photo look like monkeypox",
    "does the picture i uploaded look like mpox to you",
    "are you certain my pic isnt mpox",
    "promise me this rash is not mpox",
    "what is that on my neck",
    "whats this thing on my leg",
    "help me work out whether i have mpox",
    "what sort of rash do i have",
    "does this look normal to you",
    "can u identify the blisters in my pic",
    "i just sent you my photo",
    # Still refused: own findings with a condition, or "mpox or X" about one's own skin.
    "is it mpox if i have spots and a fever",
    "is it mpox or chickenpox on my arm",
    "can my rash be mpox if i have not had sex",
    # The chances that "this" is mpox, "is what I have", "say if", a photo that "looks exactly
    # like", "it is the mpox?", "yes or no" first, and whether one's own findings are worrying.
    "any chance its mpox?",
    "what are the odds that this is monkeypox",
    "is what my husband has mpox",
    "nurse please say if i have mpox",
    "my spots look just like mpox photos",
    "i have blister on leg, it is the mpox?",
    "yes or no, is it mpox?",
    "should i be worried about these spots",
    "theres a lump on my groin, should i worry about mpox",
    "are those blisters something to worry about",
    # s8-chat: whether one gave (or got) mpox: a verdict on someone's illness.
    "did i give my boyfriend mpox",
    "have i passed mpox to him",
    "he has spots now, did he give me mpox",
    # s9-chat: whatever is on a part of the body, named by its place ("the thing on my ..."),
    # and any judgement asked of one's own photo ("from my pic ...").
    "is the red thing on my forehead monkeypox",
    "are these on my daughters back mpox",
    "based on my photo is it bad enough for the er",
    "judging by this picture should i get tested",
    # Longer descriptions: several words before the finding or between "look like" and the
    # name, a statement about what is on one's body, a finding shown then the name.
    "what are those tiny red raised bumps on my chest",
    "what are these small itchy spots",
    "does my daughters rash look like the photos of monkeypox online",
    "pretty sure the lump under my arm is mpox",
    "could my achy swollen neck glands mean i have mpox",
    "this blister keeps weeping, mpox?",
    # What is happening to one's skin, what causes one's findings, whether they are serious
    # or normal, "what should I think", "what do you think it is", "what this lump is".
    "got blotches on my neck since sunday, what is going on",
    "whats happening with my skin, it is all bumpy",
    "what could be causing the sores on my lips",
    "would you say my sons spots are bad",
    "is my rash normal",
    "my wife has blisters on her back, what should we think",
    "there is a lump on my groin, what do you reckon it could be",
    "can you work out what this red lump is on my leg",
    # Non-native wording: "what I have" for "what do I have", a statement then "yes?" or
    # "too?", "look my photo" without "at".
    "spots on my chest and a temperature, what i have?",
    "after the party i got blisters, i have monkeypox right?",
    "my husband has mpox, i have it also?",
    "pls look my rash and tell",
    # s10-chat: the disease named with "the" ("could it be the pox").
    "red bumps came up on my chest after the festival, might that be the monkeypox",
    "my son has blisters on his hands, could these be the chickenpox",
    # s10-chat: one's own findings as the start or a sign of it.
    "could my swollen glands be the first sign of monkeypox",
    "might these red spots be early symptoms of mpox",
    # s11-chat: a past finding ("was that mpox"), a body part "infected with" it, what the bot
    # thinks a finding is.
    "my cousin had a sore on his hand in june, was that monkeypox",
    "were the lumps on my thigh mpox",
    "is my face infected with mpox, it has blisters",
    "what do you think this bump on my arm is",
    "what do u reckon these marks could be",
    # s11-chat: what one's finding is, as a clause; how it looks to the bot.
    "no clue what this lump on my wrist is",
    "what might those red patches on my feet be",
    "could you say what this is on my shoulder",
    "what do these bumps on my chest seem like to you",
    # s11-chat: non-native and misspelt wording.
    "madam i have rash and fever, i am infected by monkeypox?",
    "am i suffering from mpox",
    "my arms have spots since a week, what illness is this",
    "my son got little blisters on his hands, mpox sign?",
    "in your opinion is it mpox or a pimple on my chin",
    "see please whether these bumps are mpox",
    # s12-chat: whether a finding sounds like it to the bot, how likely it is, what the bot
    # thinks that is; the asker's own doubt as the alternative; counted photos; a finding on a
    # body part named with more words.
    "woke up with a fever and red dots on my shin, could you let me know if it sounds like mpox",
    "pls say whether her blisters seem like monkeypox",
    "after the gym i noticed bumps on my thigh, is this probably mpox?",
    "my flatmate has sores on his lip, do u reckon those are mpox",
    "painful lumps under my arm for a week, mpox or am i imagining things",
    "spots all over my chest, mpox or is it just me",
    "i attached two photos of my daughters feet",
    "is the blister on my left inner thigh mpox",
    # s12-chat: non-native 'is he having it', 'its the', a trailing 'diagnosis?', an equation,
    # how sure the bot can be, confirm/check if a finding is it, 'looks similar to'.
    "my neighbour kid has red spots everywhere, is he having monkeypox",
    "rash on my bf's back, think its the mpox?",
    "me: sore throat, swollen neck, blisters on lips. diagnosis?",
    "spots on my feet + fever = monkeypox?",
    "she has a rash on her arms, how likely is it that she has mpox",
    "please check whether the sores on my patient are mpox",
    "tell me straight if it is mpox, i have blisters",
    "my daughter rash looks very similar to mpox",
    # s12-chat: telling from a description, guessing what one has, what the bot sees in a photo.
    "can you say based on my symptoms whether i have mpox",
    "guess what my son has: fever and blisters",
    "what can you spot in this picture",
    # s12-chat: fear about a finding on one's body told without a question; "..., confirm
    # monkeypox" after a description; whether what one has is it.
    "so scared right now, a blister came up on my lip after the party",
    "fever and rashes on my body since yesterday, kindly confirm mpox",
    "could it be that what my son has is monkeypox",
    # s12-chat: 'or not' in French or German, 'positive or negative', 'is that how it starts',
    # one's case sounding like it, 'do i have symptoms of it', what someone has being it,
    # identifying a finding shown, wanting to know whether one caught it.
    "my daughter has spots on her legs, monkeypox oder nicht?",
    "small sores on my tongue, mpox positive or negative",
    "my arm has red bumps with a dip in the middle, are these how mpox begins",
    "does her situation look like mpox",
    "does my husband have signs of monkeypox, he has sores",
    "might what my brother has be mpox",
    "these blisters on my foot, can you recognise them",
    "i need to know whether she contracted monkeypox, her skin has spots",
    # s12-chat: a look-alike of three words as the alternative, 'am i having it', 'what is it
    # likely to be', a diagnosis asked for one's findings.
    "bumps on my baby's feet, is it mpox or foot and mouth",
    "am i having mpox, spots came out yesterday",
    "blisters all over my back, what are they most likely",
    "pls give a diagnosis of my rash",
    # s12-chat: 'cud it b', a trailing 'likely?' or 'perhaps?', 'how likely is mpox' and
    # 'should i think mpox' after one's findings.
    "got spots on my chest, cud it b monkeypox",
    "my patient has ulcers on her lip, monkeypox possibly?",
    "my girlfriend has bumps on her thigh, how likely is it to be mpox",
    "i have a blister on my palm, should i suspect mpox",
    # s12-chat: a photo handed over with "here is"; the same thing as in mpox pictures.
    "here are two pics, are those mpox spots",
    "here's a photo of it, mpox?",
    # s12-chat: reassurance asked ("tell me it's not mpox"), taking a finding as it, one's
    # findings meaning it.
    "please tell me these are not monkeypox, they are on my arm",
    "my son has a rash, should we treat it as mpox",
    "do his spots and fever suggest mpox",
    # s12-chat: a clinician's 'differential?', 'is my son sick with it', 'could i be
    # infected?', 'what looks like mpox', '..., can you confirm'.
    "my patient has fever and pustules on the palms, monkeypox dx?",
    "is my husband ill with monkeypox",
    "might she be positive? she has a sore on her lip",
    "my boyfriend has what seems like mpox on his chest",
    "spots on my tummy since sunday, mpox i guess, could you confirm",
    # s12-chat: a patient, client, relative or friend described without 'my'.
    "patient with fever and pustules on the palms, monkeypox dx?",
    "friend came back from holiday with spots on his face, mpox or not",
    # s12-chat: a plea after the name, 'y/n', wanting to know if a finding is it.
    "big sore on my lip, monkeypox?? please",
    "spots on my back, mpox y/n",
    "we want to know whether the rash on our baby's legs is monkeypox",
    # s12-chat: 'mpox symptoms?' first, then one's findings; one's finding as the start of it.
    "monkeypox signs? i got a rash on my arms",
    "are these blisters the first signs of mpox",
    "do i have the same rash as the monkeypox photos online",
    # (the disease's symptoms asked of someone still are)
    "my son has a rash, does he have mpox symptoms",
    # s14-chat: (the risk words do not hide a finding asked about)
    "is the spot on my leg mpox, risk of spreading it?",
]

#: Comparisons and general questions, including first-person ones that ask for no verdict.
GENERAL_QUESTIONS = [
    "is mpox worse than chickenpox",
    "do measles spots look the same",
    "what does mpox look like",
    "what does an mpox rash look like",
    "how do i know if i have mpox",
    "does mpox look like chickenpox",
    "is mpox or chickenpox worse",
    "can i get mpox from a toilet seat",
    "can i catch it from a towel",
    "i have mpox, can i carry on with my prep",
    "i have mpox what should i do",
    "i tested positive for mpox what now",
    "my boyfriend has mpox can i get it",
    "is the mpox rash itchy",
    "are mpox spots painful",
    "is mpox a virus",
    "is it an std",
    "is mpox like herpes",
    "how is mpox different from herpes",
    "is chickenpox or mpox more dangerous",
    "chickenpox or mpox which is which",
    "should i stop my hiv meds",
    "what can i take for the pain",
    "im hiv positive is it worse for me",
    "can my dog get mpox",
    "is it safe to get the vaccine",
    "is there a test for mpox",
    "how do they test for mpox",
    "where can i get tested if i think i have mpox",
    "what do mpox blisters look like",
    "do mpox sores look like pimples",
    "does mpox rash look like a bug bite",
    "mpox vs herpes sores",
    "what are the first signs of mpox",
    "could mpox be spread by kissing",
    "how can you tell mpox from chickenpox",
    "is a fever a sign of mpox",
    "are spots on the hands a sign of mpox",
    "what should i do if i think i have mpox",
    "i think i was exposed to mpox what should i do",
    "my partner was diagnosed with mpox should i get vaccinated",
    "can i have sex if i had mpox",
    "is it possible to have mpox without a rash",
    "can you have mpox twice",
    "do you get a fever with mpox",
    "how long do i have to isolate if i have mpox",
    "if i have mpox can i go to work",
    "can i have mpox and not know",
    "i am scared of getting mpox",
    "im worried about mpox",
    "what happens if i get mpox",
    "can mpox look like acne",
    "is mpox rash like a pimple or a blister",
    "what are the chances of dying from mpox",
    "how likely is it to catch mpox from kissing",
    "what does mpox rash look like on the face",
    "is the rash from mpox always painful",
    "can mpox sores be mistaken for pimples",
    "is it mpox season",
    "are mpox and smallpox related",
    "what is the chance of catching mpox at a party",
    "do i have to isolate if i have mpox",
    "will i have scars after mpox",
    "do mpox sores look like blisters",
    "how do i tell if a rash is mpox",
    "what should i do if my rash looks like mpox",
    "is it true that mpox is a gay disease",
    "how do doctors know if it is mpox",
    "who do i call if i think i have mpox",
    "is mpox the same as chickenpox",
    "my partner has mpox, do i need the vaccine",
    "i have mpox, how long am i contagious",
    "can i have sex with a partner who had mpox",
    # s6-chat: whether a finding belongs to mpox, and what mpox means for a pregnancy.
    "swollen lymph nodes, is that an mpox thing",
    "is a sore throat an mpox symptom",
    "are swollen glands a usual mpox sign",
    "im pregnant and worried i caught mpox, can it hurt my baby",
    "pregnant and scared i have mpox, will it affect the baby",
    # Someone else's diagnosis reported ("they say they have it"), and what the tool can do.
    "i hooked up with someone and now they say they have mpox, does it spread through sex",
    "can this app diagnose me",
    "i have mpox, what is it",
    "i have spots, how long do they last",
    "what does an mpox rash look like to a doctor",
    # s7-chat: the vaccine or a test after "can I have", symptoms one may have in general,
    # comparisons and what the photo tool does.
    "can i have the mpox vaccine if i had covid",
    "could we have the mpox jab at a sexual health clinic",
    "can i have mpox symptoms with no fever",
    "how can i find out what this rash is",
    "what is mpox and how is it different from smallpox",
    "is mpox more dangerous than chickenpox for kids",
    "is mpox the same thing as herpes",
    "how accurate is the photo tool",
    "what happens to my photo when i upload it",
    "what sort of rash does mpox cause",
    "what kind of symptoms do people get with mpox",
    "what is on the skin during the first days of mpox",
    "are you sure it is mpox season",
    "my arm is red after the jab, thoughts?",
    # "is it that ..." opens a general question, not "is it (that) mpox".
    "how likely is it that mpox kills you",
    "why is it that mpox spreads in men more",
    # A known illness ("my mpox"), a comparison that names both, a general condition, and
    # what a tool, test or clinician can tell.
    "is my mpox going to leave marks",
    "is it mpox or measles that gives a fever first",
    "is it mpox if there is no fever at all",
    "can the photo tool tell if i have mpox",
    "can a doctor tell if my spots are mpox",
    "how does a pcr test tell whether it is mpox",
    # Worry about mpox itself, or about a known illness, is answered.
    "i have hiv, should i worry about mpox",
    "my partner has mpox, should i be worried",
    "my arm is sore after the jab, should i worry",
    "what are the chances of mpox at a festival",
    # s8-chat: how a diagnosis is confirmed; whether it can be passed on (spread, not a verdict).
    "how do doctors confirm it is mpox",
    "how can a lab tell it is mpox and not herpes",
    "how would they know its mpox and not measles",
    "can i give mpox to my wife before i get symptoms",
    # s9-chat: a question the asker marks as general ("in general", "hypothetically"), and what
    # a tool can tell from a photo.
    "my armpit lumps hurt, can that be a sign of mpox in general",
    "hypothetically could a sore throat be an mpox symptom",
    "can the poxscan app tell from my photo if it is mpox",
    # General questions with the same words ("what are these ... called", "look like the
    # pictures", "the rash on the hands is typical").
    "what are these little fluid filled bumps called in mpox",
    "does the mpox rash look like the pictures online",
    "the rash on the hands is typical of mpox right",
    "those sores in the mouth, do they hurt with mpox",
    # A general condition with "always" or "necessarily", whether a finding is serious in
    # mpox in general.
    "if you have spots after a festival is it necessarily mpox",
    "is a rash in the mouth serious for mpox",
    # A known illness's course, what one has to do.
    "how does my rash look when mpox heals",
    "what i have to do if i get mpox",
    "i know what i have, how long will it last",
    # How serious a known illness's rash is; a claim heard, checked.
    "i was diagnosed with mpox, are my sores bad",
    "someone told me blisters on the feet are mpox, is that really true",
    # s10-chat: "be the" without a disease after it.
    "could the rash be the first sign of mpox",
    "can back pain be an early symptom of mpox",
    "diarrhea, can it be a sign of mpox",
    # s11-chat: the same words about the disease or a risk, not a finding.
    "was it mpox that spread around the world in 2022",
    "was mpox ever found outside africa before 2022",
    "what do you think my chances are of catching mpox",
    "can the skin of an infected person spread mpox",
    "is my partner at risk if i am infected with mpox",
    "could you explain what this illness is",
    "what my chances are of getting it again",
    "what would the first signs be",
    "in your opinion is mpox dangerous",
    "i am suffering from mpox, can i go to work?",
    "which disease is it that causes blisters like mpox",
    "according to you what is the best way to avoid mpox",
    # s12-chat: the same words about the disease or a risk of catching it, not a finding.
    "tell me if mpox blisters look like chickenpox",
    "is it likely mpox will spread again this year",
    "do you think that mpox is dangerous for children",
    "mpox or chickenpox, which is worse for adults",
    "as a dentist should i worry about catching mpox from patients with mouth sores",
    "should we be worried about getting mpox at the gym",
    "how likely is it that mpox spreads on a plane",
    "check whether the mpox vaccine is free",
    "is mpox rash similar to chickenpox rash",
    "fever + rash: which comes first in mpox",
    "my photo project is about mpox history, when was it found",
    "what can you see in the photo of mpox on the cdc website",
    "guess what i have read about mpox vaccines, are they safe",
    "is mpox or a heat rash itchier",
    "mpox or acne, scarier for teens?",
    "i am scared of mpox, how can i protect my skin",
    # s12-chat: a diagnosis told by a clinician; when one can know; identifying in general.
    "my doctor said my rash is mpox, how long will it last",
    "the gp told me these sores are monkeypox, when can i go back to work",
    "how many days until i would know if i caught it",
    "how do doctors identify them, the mpox sores",
    "how do i know if i have mpox or not",
    # s17-chat: the disease named as what a cure, vaccine or test is for.
    "is there a treatment for mpox or not",
    "what does an mpox like rash look like on the hands",
    "rate my chances of catching mpox at a festival",
    "mpox spreads through skin contact, right?",
    "¿qué es la viruela del mono?",
    "qu'est-ce que c'est mpox?",
    "can you confirm that mpox is not airborne",
    "does the jab really protect against mpox or not",
    # s20-chat: protection from the disease asked yes or no.
    "do condoms protect us from mpox or not",
    # s22-chat: reassurance about the disease, no finding of one's own.
    "i read that mpox sores heal, tell me it is not serious for most people",
    # s21-chat: what the bot could do if told symptoms (none told yet).
    "could you diagnose someone if i list the symptoms",
    "what is the diagnosis of mpox based on",
    "when should i suspect mpox",
    "how likely is mpox to spread at a festival",
    "does vitamin b help with mpox",
    "do children have the same symptoms as adults with mpox",
    "could fever and rash mean mpox in children",
    "tell me mpox is not dangerous for kids",
    "could i be infected with mpox without any symptoms",
    "what is the mpox differential diagnosis in clinics",
    "can a patient with an mpox rash go to work",
    "how long is a client with mpox sores contagious",
    "i would like to know if the mpox vaccine is safe",
    "how do you spell mpox?? help",
    "mpox symptoms? how do they start",
    "mpox symptoms? what are they",
    "is a rash the first sign of mpox",
    # s12-chat: the vaccine or a test named by the disease, for someone else.
    "my daughter is 15, can she have the mpox jab",
    "can my husband have the monkeypox vaccine if he has hiv",
    "could my boyfriend have the mpox test at a pharmacy",
    # s14-chat: whether an activity "is an mpox risk" asks about the activity, not a finding.
    "we share razors in our house, is that a mpox risk",
    "i work in a tattoo studio, is it an mpox hazard to reuse gloves",
    "my flatmate and i swap clothes, is that risky for mpox",
    # s15-chat: the name asked about, with the naming word misspelt or in another form.
    "why was it cald monkeypox before",
    "was it renamed mpox because of racism",
    "is it nammed mpox everywhere",
    "was it originally monkeypox",
    "why was it rebranded mpox",
]


@pytest.fixture(scope="module")
def bot():
    return MpoxChatbot()


@pytest.mark.parametrize("question", OWN_VERDICT_REQUESTS)
def test_request_to_judge_own_rash_is_refused(bot, question):
    assert detect_diagnosis_request(normalize(question)) is not None
    reply = bot.reply(question)
    assert reply.kind == "refusal"
    assert "clinician" in reply.text and "October 2023" in reply.text


@pytest.mark.parametrize("question", GENERAL_QUESTIONS)
def test_comparison_or_general_question_is_not_refused(bot, question):
    assert detect_diagnosis_request(normalize(question)) is None
    assert bot.reply(question).kind != "refusal"


def test_rule_names_say_why():
    # A few phrasings and the rule expected to catch each.
    cases = {
        "im terrified ive caught mpox": "suspicion",
        "pimple or mpox?": "lookalike_or_mpox",
        "here is a pic of my rash": "photo_of_mine",
        "do these spots look mpox to u": "sound_like",
        "i got mpox?": "statement_question",
        "did she give me mpox": "gave_it_to",
        "can you tell me if this sounds like mpox": "sounds_like_to_bot",
    }
    assert {q: detect_diagnosis_request(normalize(q)) for q in cases} == cases
