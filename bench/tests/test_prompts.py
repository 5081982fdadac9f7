"""Prompt sizing from a token counter (gemd render's, here a stand-in: a fixed template and one
token per word) and the prompts' shape."""

import unittest

import bench_path  # noqa: F401
from gemdbench.prompts import STORY_TAIL, WORDS, Prompts, story_of

TEMPLATE = 19  # the stand-in template's tokens


def count(text):
    return TEMPLATE + len(text.replace(".", " . ").split())


class Sizing(unittest.TestCase):
    def test_fixed_tokens_are_the_template_and_the_closing_sentence(self):
        p = Prompts(1)
        p.size(count)
        # The template, the full stop, then the closing sentence's words and full stop.
        self.assertEqual(p.story_fixed, TEMPLATE + 1 + len(STORY_TAIL.split()) + 1)
        self.assertAlmostEqual(p.tokens_per_word, 1.0)

    def test_a_story_has_the_size_asked_for(self):
        p = Prompts(7)
        p.size(count)
        for tokens in (60, 200, 1000):
            self.assertLessEqual(abs(count(p.story(tokens)) - tokens), 1, tokens)

    def test_word_costs_above_one_token_shrink_the_stories(self):
        p = Prompts(7)
        p.size(lambda text: 2 * count(text))
        self.assertAlmostEqual(p.tokens_per_word, 2.0)
        self.assertLessEqual(abs(2 * count(p.story(400)) - 400), 2)

    def test_prompts_differ_from_the_first_word_and_repeat_with_the_seed(self):
        a, b = Prompts(3), Prompts(3)
        first = [a.story(100) for _ in range(5)]
        self.assertEqual(first, [b.story(100) for _ in range(5)])
        self.assertEqual(len({s.split()[0] + s.split()[1] for s in first}), 5)
        self.assertTrue(all(s.endswith(STORY_TAIL) for s in first))
        self.assertTrue(story_of(WORDS).startswith(WORDS[0] + " " + WORDS[1]))

    def test_a_prefix_is_shared_text_and_each_suffix_is_new(self):
        p = Prompts(5)
        prefix = p.prefix(300)
        self.assertTrue(prefix.startswith("Background notes: ") and prefix.endswith(".\n\n"))
        self.assertNotEqual(p.suffix(), p.suffix())


if __name__ == "__main__":
    unittest.main()
