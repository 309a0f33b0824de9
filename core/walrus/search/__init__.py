"""Full-text search: tokenizer, query parser and query planner (used by ``walrus.fts.Index``
and by model full-text fields)."""

from .errors import MissingDependencyError, QueryError
from .plan import TokenQuery, compile_query, run_token_query
from .query import And, Node, Or, Phrase, Term, parse
from .tokenizer import Tokenizer, load_stopwords

__all__ = [
    "And",
    "MissingDependencyError",
    "Node",
    "Or",
    "Phrase",
    "QueryError",
    "Term",
    "TokenQuery",
    "Tokenizer",
    "compile_query",
    "load_stopwords",
    "parse",
    "run_token_query",
]
