"""The describe worker's models (gui.worker.DescribeWorker): the text reader first, then the captioner on a
helper thread (gui.captioner_loader), taken over by the worker thread when it has loaded; the detail
model on first use; the translator into the app's language.

Threading contract: `WorkerModels` is a part of DescribeWorker, not a class of its own: every method here
runs on the worker thread (except `_deliver` and `_load_captioner`, which run on the loader's thread and
only touch the worker's state under its lock). It emits the worker's signals and never touches a widget.
"""
from __future__ import annotations

import logging
import time
from describe_aloud.engine.captioners import Captioner, load_captioner
from describe_aloud.engine.describer import Describer
from describe_aloud.engine.errors import UserFacingError, user_message
from describe_aloud.engine.i18n import N_, _
from describe_aloud.engine.ocr import OcrEngine
from describe_aloud.engine.translation import translator_or_reason
from describe_aloud.gui.captioner_loader import CaptionerLoad, Loaded
from describe_aloud.gui.describe_jobs import model_label, set_torch_threads

log = logging.getLogger(__name__)

OUT_OF_MEMORY = N_("There is not enough memory to describe this image.")


class WorkerModels:
    """The model-loading half of DescribeWorker (mixed into it; it holds no state of its own). Its methods use
    the worker's attributes; gui.worker is not imported here, so the two modules form no import loop."""

    def _close_describers(self) -> None:
        """Drop the models (ending the describers' caption threads first)."""
        for describer in {id(d): d for d in (self._describer, self._detail_describer) if d is not None}.values():
            describer.close()
        self._describer = self._captioner = None
        self._detail_describer = None
        self.asks.close()

    def _start_text_reader(self) -> None:
        """The OCR first, alone (measured: beside torch's import it took twice as long): once it has read
        a sample, a hotkey gets the screen's text, so `text_ready` ("Ready.") goes out."""
        with self._cond:
            spec = self._model
        self.status.emit(_("Loading model {model}…").format(model=model_label(spec)))
        started = time.perf_counter()
        self._ocr = self._new_ocr_engine()
        self._describer = self._ocr_only_describer(None, ocr=self._ocr)
        self._wait_for_text_reader(self._ocr)
        log.info("text reader ready in %.2f s", time.perf_counter() - started)
        self.text_ready.emit()

    def _start_captioner_load(self) -> None:
        with self._cond:
            if self._stopping:
                return  # quit during start-up: nothing to wait for
            spec, precision = self._model, self._precision
            # A model chosen before this point is the one loaded now: no second load of it afterwards.
            self._reload_requested = False
            self._loading = True
        language = self._language if self._translator is None else None
        self._load = CaptionerLoad(
            spec, lambda: self._load_captioner(spec, precision),
            translator=(lambda: translator_or_reason(language)) if language else None,
            deliver=self._deliver).start()

    def _load_captioner(self, spec: str | None, precision: str) -> Captioner:
        """On the loader's thread."""
        load = self._captioner_loader or load_captioner
        captioner = load(spec, precision=precision, device=self._device, local_files_only=True)
        set_torch_threads(self._threads)
        return captioner

    def _deliver(self, loaded: Loaded) -> None:
        """On the loader's thread: hand the load's outcome to this worker's thread."""
        with self._cond:
            self._loaded = loaded
            self._loading = False
            self._cond.notify_all()

    def _adopt(self, loaded: Loaded) -> None:
        """The captioner has loaded (or failed to): from now on requests are described whole; the request
        waiting for its caption gets it first."""
        with self._cond:
            if self._reload_requested:  # the settings changed while it loaded: the newer model loads next
                return
        if loaded.translator_problem:
            self._language = None  # do not try again on every model change
            self.status.emit(loaded.translator_problem)
        if loaded.translator is not None:
            self._translator = loaded.translator
        if loaded.error is not None:
            exc = loaded.error
            message = user_message(exc, doing=describing_failed(loaded.spec), memory=_(OUT_OF_MEMORY))
            log.warning("captioner %s not loaded: %s", loaded.spec, exc,
                        exc_info=None if isinstance(exc, UserFacingError) else exc)
            self._describer = self._ocr_only_describer(message, ocr=self._ocr)
            self.status.emit(_("Ready, reading text only: {reason}").format(reason=message))
            self.model_failed.emit(message)
            self._finish_awaiting()
            return
        self._captioner = loaded.captioner
        self._describer = Describer(loaded.captioner, ocr=self._ocr or OcrEngine(threads=self._threads))
        self._attach_translator()
        log.info("ready: captioner loaded in %.2f s", loaded.seconds)
        # No status("Ready") here: a status is announced to a screen reader, and "Ready." was said already
        # (at text_ready); the presenter shows "Ready" quietly on model_ready.
        self.model_ready.emit(str(self._captioner.model_id or loaded.spec or ""))
        # The caption someone is waiting for first; the warm-ups only make later requests faster: one tiny
        # caption, and one read of a screen-sized page (the first read of a new size is slow). The page is
        # read only now, not while the captioner loads: beside the load it would slow it down.
        self._finish_awaiting()
        self._warm_up(self._describer)
        self._warm_up_screen_reading(self._ocr)

    def _reload(self) -> None:
        """Another captioner (settings changed): the text reader stays, so requests are still read at once."""
        self._close_describers()
        self._describer = self._ocr_only_describer(None, ocr=self._ocr)
        self._start_captioner_load()

    def _attach_translator(self) -> None:
        """Load the translator into the app's language (nothing for English) and give it to the describers.
        A missing translation model is said once; descriptions then stay in English."""
        if self._translator is None and self._language is not None:
            self._translator, problem = translator_or_reason(self._language)
            if problem:
                self._language = None  # do not try again on every model change
                self.status.emit(problem)
        for describer in (self._describer, self._detail_describer):
            if describer is not None:
                describer.translator = self._translator

    @staticmethod
    def _warm_up(describer: Describer | None) -> None:
        # Load the OCR models and run the captioner once, so the first hotkey pays for neither (nothing big
        # is loaded on the hotkey path).
        if describer is None:
            return
        try:
            describer.warm_up()
        except Exception:  # noqa: BLE001 - a failure here shows up (and is reported) on the first job
            log.warning("warm-up failed", exc_info=True)

    def _warm_up_screen_reading(self, ocr: OcrEngine | None) -> None:
        if ocr is None or not self._screen_size or self._stopping or self._screen_reading_warm:
            return
        try:
            ocr.warm_up_for_size(self._screen_size)
            self._screen_reading_warm = True  # once: a model changed later keeps the same text reader
        except Exception:  # noqa: BLE001 - only a warm-up: the first capture reports real problems
            log.warning("OCR warm-up at screen size failed", exc_info=True)

    @staticmethod
    def _wait_for_text_reader(ocr: OcrEngine | None) -> None:
        try:
            if ocr is not None:
                ocr.warm_up()  # joins the warm-up running on its own thread
        except Exception:  # noqa: BLE001 - said with the first description that needs the text
            log.warning("OCR is not ready", exc_info=True)

    def _new_ocr_engine(self) -> OcrEngine | None:
        """The main describer's OCR engine; None when it cannot even be created (reported on first use)."""
        try:
            return OcrEngine(threads=self._threads)
        except Exception:  # noqa: BLE001 - the describer's own OCR engine reports the failure on first use
            log.warning("OCR engine could not be created", exc_info=True)
            return None

    def _make_describer(self, spec: str | None, precision: str, *, use_ocr: bool = True,
                        ocr: OcrEngine | None = None):
        """The main describer reads the text, hands it over (spoken at once), then captions, each stage
        with every core. The detail model's describer (no OCR) adds only the detail and objects."""
        captioner = load_captioner(spec, precision=precision, device=self._device, local_files_only=True)
        if not use_ocr:
            return Describer(captioner, use_ocr=False), captioner
        set_torch_threads(self._threads)
        return Describer(captioner, ocr=ocr or OcrEngine(threads=self._threads)), captioner

    def _ocr_only_describer(self, message: str | None, *, ocr: OcrEngine | None = None) -> Describer | None:
        try:
            return Describer(None, ocr=ocr or OcrEngine(threads=self._threads), caption_error=message)
        except Exception:  # noqa: BLE001 - the engine itself is broken: every job will report it
            log.exception("no describer at all")
            return None

    def _detail(self) -> Describer:
        """The detail model's describer, loaded on first use (on this thread)."""
        with self._cond:
            spec, precision = self._detail_model, self._precision
        if self._detail_describer is not None and self._detail_describer_spec == spec:
            return self._detail_describer
        if spec == self._model and self._captioner is not None:
            self._detail_describer = self._describer
        else:
            self.status.emit(_("Loading detail model {model}…").format(model=model_label(spec)))
            # Only the added caption and objects are used: the text was read the first time.
            self._detail_describer, _unused = self._make_describer(spec, precision, use_ocr=False)
            self._attach_translator()
        self._detail_describer_spec = spec
        return self._detail_describer


def describing_failed(spec: str | None) -> str:
    """What failed, for user_message: "Describing failed (git-base)"."""
    return _("Describing failed ({model})").format(model=model_label(spec))
