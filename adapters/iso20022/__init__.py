"""ISO 20022 messages: read pacs.008.001.08 into ingestion messages, and write them.

``pacs008`` parses a FIToFICustomerCreditTransfer into dicts of the JSON ingestion
contract (validated afterwards by ``PaymentInstruction.from_message``) or raises
``MessageRejected`` with a dead-letter reason; ``builder`` writes valid documents for
tests, benchmarks and demo channels.
"""

from adapters.iso20022.builder import Pacs008Tx, build_pacs008
from adapters.iso20022.pacs008 import MessageRejected, parse_pacs008

__all__ = ["MessageRejected", "Pacs008Tx", "build_pacs008", "parse_pacs008"]
