"""The grader's switch, registered here at the top so that every pytest command knows it, with or
without a test path: --target solution (the reference), starters (your starters/extend.py), or a
path to any one student's file.

    python3 -m pytest --target starters                      the whole suite, grading the starter
    python3 -m pytest tests/test_extend.py --target alice.py one student's file
"""


def pytest_addoption(parser):
    parser.addoption("--target", default="solution", metavar="solution|starters|FILE",
                     help="whose composite_alert the challenge's tests grade: solution (default), "
                          "starters, or a path to a student's .py file")
