"""Model package ARNs: the service's limits and pattern.

The pattern and the limits are not in the boto3 reference page, and botocore
checks neither client-side: the service rejects a whole call with
``ValidationException`` when one ARN breaks them.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["MAX_ARNS_PER_CALL", "MAX_ARN_LENGTH", "MODEL_PACKAGE_ARN_PATTERN", "is_valid_arn"]

#: Most ARNs one ``BatchDescribeModelPackage`` call accepts.
MAX_ARNS_PER_CALL: Final = 100

#: Longest ARN the service accepts, in characters.
MAX_ARN_LENGTH: Final = 2048

#: The service's pattern for one member of ``ModelPackageArnList``.
MODEL_PACKAGE_ARN_PATTERN: Final = (
    r"arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]{9,16}:[0-9]{12}:model-package/[\S]{1,2048}"
)

# The service evaluates the pattern as Java does, where ``\s`` is ASCII whitespace only.
_ARN_RE: Final = re.compile(MODEL_PACKAGE_ARN_PATTERN, re.ASCII)


def is_valid_arn(arn: str) -> bool:
    """Tell whether the service would accept ``arn`` as a list member."""
    return 1 <= len(arn) <= MAX_ARN_LENGTH and _ARN_RE.fullmatch(arn) is not None
