"""Asking about an image: follow-up questions answered by a small local vision-language model.

    from describe_aloud.engine.ask import load_asker, Turn
    asker = load_asker()                         # the catalog's ask model, from the local model store
    stream = asker.ask(image, question, lines=read_lines, history=[Turn(q, a), ...])
    for sentence in stream: ...                  # streamed, already judged
    answer = stream.answer                       # engine.render.answer(answer) says it

Modules: asker (the model loop, the image cache), prompt (what the model is told), confidence ("I can't
tell from this image"), grounding (read text vs the model's eyes), loading (the model store).
"""
from describe_aloud.engine.ask.asker import Answer, AnswerSentence, AnswerStream, Asker, image_key
from describe_aloud.engine.ask.confidence import FIRST_TOKEN_MIN, MEAN_MIN, judge
from describe_aloud.engine.ask.grounding import READ, SEEN
from describe_aloud.engine.ask.loading import load_asker
from describe_aloud.engine.ask.prompt import Turn

__all__ = [
    "Answer", "AnswerSentence", "AnswerStream", "Asker", "FIRST_TOKEN_MIN", "MEAN_MIN", "READ", "SEEN",
    "Turn", "image_key", "judge", "load_asker",
]
