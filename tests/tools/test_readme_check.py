"""tools/readme-check's own rules: which prose figures it checks, how a figure is
found in a run's numbers, and how --update rewrites a block. Expected values follow
from the rules its docstring states (rounding to the printed precision, the unit
factors), worked out here."""
import importlib.machinery
import os
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
rc = importlib.machinery.SourceFileLoader("readme_check", os.path.join(ROOT, "tools", "readme-check")).load_module()


class FigureFound(unittest.TestCase):
    def test_rounding_to_the_printed_precision(self):
        self.assertTrue(rc.figure_found("82.2", [82.231]))  # |82.231 - 82.2| = 0.031 <= 0.05
        self.assertFalse(rc.figure_found("82.4", [82.231]))  # 0.169 > 0.05
        self.assertTrue(rc.figure_found("0.112", [0.1125]))  # exactly half a unit of the last place
        self.assertFalse(rc.figure_found("0.112", [0.1126]))

    def test_units_a_known_factor_away(self):
        self.assertTrue(rc.figure_found("30.3", [30345.7]))  # Wh printed, kWh quoted: / 1000
        self.assertTrue(rc.figure_found("1.160", [4176.7566]))  # J printed, Wh quoted: 4176.7566 / 3600 = 1.1602
        self.assertTrue(rc.figure_found("2.2", [0.0022]))  # s printed, ms quoted
        self.assertFalse(rc.figure_found("31.3", [30345.7, 4176.7566]))

    def test_a_percentage_may_be_printed_as_a_fraction(self):
        self.assertTrue(rc.figure_found("6.4", [0.0641], percent=True))
        self.assertFalse(rc.figure_found("6.4", [0.0641], percent=False))


class MissingFigures(unittest.TestCase):
    def test_only_decimal_figures_are_checked(self):
        text = "16 GPUs, 82-100 Wh, 3,072 sequences, vLLM v0.11.1, arXiv:2605.11999, 82.2 Wh and 6.4% of blocks"
        self.assertEqual(rc.missing_figures(text, []), ["82.2", "6.4"])
        self.assertEqual(rc.missing_figures(text, [82.231, 0.064]), [])

    def test_figures_the_marker_lists_are_skipped(self):
        self.assertEqual(rc.missing_figures("2.77 tokens per step, 4.5 s", [4.52], ["2.77"]), [])


class Markers(unittest.TestCase):
    README = [
        "<!-- readme-check quick: build/convsim run x -->",
        "",
        "    $ build/convsim run x",
        "    energy 82.231 Wh",
        "",
        "<!-- readme-check figures (not printed: 2.77 6.7) -->",
        "It costs 82.2 Wh,",
        "2.77 tokens a step.",
        "",
        "Unmarked 99.9.",
    ]

    def test_a_marked_paragraph_belongs_to_the_example_above(self):
        self.assertEqual(list(rc.figure_paragraphs(self.README)),
                         [(7, "It costs 82.2 Wh, 2.77 tokens a step.", 1, ["2.77", "6.7"])])

    def test_a_marker_without_an_example_above_is_refused(self):
        with self.assertRaises(SystemExit):
            list(rc.figure_paragraphs(["<!-- readme-check figures -->", "It costs 82.2 Wh."]))

    def test_update_rewrites_the_lines_that_read_the_same_with_numbers_masked(self):
        lines = list(self.README)
        [(_, _, _, _, indices)] = list(rc.examples_with_lines(lines))
        changed, unmatched = rc.resync(lines, indices, ["energy 90.5 Wh", "done"])
        self.assertEqual((changed, unmatched), (1, []))
        self.assertEqual(lines[3], "    energy 90.5 Wh")
        changed, unmatched = rc.resync(lines, indices, ["power 90.5 W"])
        self.assertEqual((changed, unmatched), (0, [4]))

    def test_the_readme_is_replaced_whole(self):
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "README.md")
            with open(path, "w", encoding="utf-8") as f:
                f.write("old")
            rc.write_whole(path, "new")
            with open(path, encoding="utf-8") as f:
                self.assertEqual(f.read(), "new")
            self.assertEqual(os.listdir(folder), ["README.md"])


if __name__ == "__main__":
    unittest.main()
