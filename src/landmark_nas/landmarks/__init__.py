"""The landmark regularizer (Yu, Ranftl and Salzmann, CVPR 2021).

Landmarks are architectures with known stand-alone accuracy. During super-net
training, pairs of landmarks are drawn and a pairwise ranking loss pushes the
stand-alone better one of each pair to a lower super-net loss.
"""

from landmark_nas.landmarks.losses import ranking_loss
from landmark_nas.landmarks.regularizer import LandmarkRegularizer, one_at_a_time
from landmark_nas.landmarks.schedules import LambdaSchedule
from landmark_nas.landmarks.selection import select_landmarks

__all__ = [
    "LambdaSchedule",
    "LandmarkRegularizer",
    "one_at_a_time",
    "ranking_loss",
    "select_landmarks",
]
