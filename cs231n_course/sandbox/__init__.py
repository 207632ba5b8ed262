"""The sandbox a submission's kernel runs in: the one entry the grader calls.

``launcher`` builds the namespaces, root, limits and uid and runs one command in them;
``cgroup`` bounds and measures a whole run; ``uids`` claims sandbox uids and kills what runs
under them; ``probe`` says what this machine allows; ``syscalls`` holds the few Linux calls
Python does not wrap. The rest of the course imports only the names below.
"""

from cs231n_course.sandbox import cgroup
from cs231n_course.sandbox.launcher import Policy, netns_exec, run
from cs231n_course.sandbox.probe import probe
from cs231n_course.sandbox.uids import claim_uids, kill_strays, kill_uid, processes_of

__all__ = [
    "Policy",
    "cgroup",
    "claim_uids",
    "kill_strays",
    "kill_uid",
    "netns_exec",
    "probe",
    "processes_of",
    "run",
]
