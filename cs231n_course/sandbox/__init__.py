"""The sandbox a submission's kernel runs in: the one entry the grader calls.

``launcher`` runs one command in new namespaces under a ``policy`` (the JSON the grader
writes), with ``newroot`` building the root, limits and uid inside them (``uidonly`` when the
machine allows no namespaces); ``netns`` gives nbval a loopback-only network;
``cgroup`` bounds and measures a whole run; ``uids`` claims sandbox uids and kills what runs
under them; ``probe`` says what this machine allows; ``syscalls`` holds the few Linux calls
Python does not wrap. The rest of the course imports only the names below.
"""

from cs231n_course.sandbox import cgroup
from cs231n_course.sandbox.launcher import run
from cs231n_course.sandbox.netns import netns_exec
from cs231n_course.sandbox.policy import Policy
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
