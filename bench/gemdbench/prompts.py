"""The prompts: random common English words, seeded per run, different from the first word on,
so that no prefix cache can help except where the prefix test wants it (beyond the chat
template's fixed header, shared alike in every system).

Sizes are in tokens as the servers count them, template included. They are taken from gemd's
own rendering (`Prompts.size` with gemd_render's counter): the tokens of a story prompt with no
words are the template's fixed tokens and the closing sentence; the words are drawn uniformly
from WORDS, so a prompt of every word once, less that, gives the expected tokens per word. The
peers get the same plain user turns and render them with the same GGUF template.
"""

import random

WORDS = (
    "time year people way day man thing woman life child world school state family student "
    "group country problem hand part place case week company system program question work "
    "government number night point home water room mother area money story fact month lot "
    "right study book eye job word business issue side kind head house service friend father "
    "power hour game line end member law car city community name president team minute idea "
    "kid body information back parent face others level office door health person art war "
    "history party result change morning reason research girl guy moment air teacher force "
    "education foot boy age policy music market sense nation plan college interest death "
    "experience effect class control care field development role effort rate heart drug show "
    "leader light voice wife police mind price report decision son view relationship town road "
    "arm difference value building action model season society tax director position player "
    "record paper space ground form event official matter center couple site project activity "
    "star table need court oil situation cost industry figure street image phone data picture "
    "practice piece land product doctor wall patient worker news test movie north love support "
    "technology step baby computer type attention film tree source organization hair window "
    "evidence population river garden bridge winter summer island mountain forest ocean"
).split()

STORY_TAIL = " Write a long story that uses every one of these words."


def make_text(rng, n_words):
    return " ".join(rng.choice(WORDS) for _ in range(n_words))


def story_of(words):
    return " ".join(words) + "." + STORY_TAIL


def story_text(rng, n_words):
    return make_text(rng, n_words) + "." + STORY_TAIL


class Prompts:
    """Unique prompts of a given size in tokens (see the module's docstring)."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.tokens_per_word = 1.1  # replaced by size()
        self.story_fixed = 45  # idem

    def size(self, count):
        """Sizes the prompts with `count(text)`: the tokens of a request of one user turn."""
        self.story_fixed = count(story_of([]))
        every_word = count(story_of(WORDS)) - self.story_fixed
        self.tokens_per_word = max(0.5, every_word / float(len(WORDS)))

    def words_for(self, tokens):
        return max(1, int(round(tokens / self.tokens_per_word)))

    def story(self, tokens):
        return story_text(self.rng, self.words_for(tokens - self.story_fixed))

    def prefix(self, tokens):
        return "Background notes: " + make_text(self.rng, self.words_for(tokens)) + ".\n\n"

    def suffix(self):
        return ("Question " + str(self.rng.randrange(10**6)) + ": write a story about the "
                + self.rng.choice(WORDS) + " in these notes.")


def warm_up_text():
    """The warm-up request's text (the first request pays page faults and lazy set-up)."""
    return make_text(random.Random(1), 160)
