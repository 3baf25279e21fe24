"""The sentences a failed download turns into: network, server, licence and disk failures, each one
plain sentence (UserFacingError) that says what to do next."""
from __future__ import annotations

import contextlib
import errno
from typing import Iterator
from urllib.parse import urlsplit

from describe_aloud.engine.config import hub_cache_dir
from describe_aloud.engine.errors import UserFacingError
from describe_aloud.engine.i18n import _
from describe_aloud.engine.invocation import user_command
from describe_aloud.engine.models.store import REVISION, display_name


def http_module():
    """The HTTP library huggingface_hub uses (httpx2 in 2.x, httpx in 1.x)."""
    try:
        import httpx2 as http
    except ImportError:  # huggingface_hub 1.x
        import httpx as http  # type: ignore[no-redef]
    return http


@contextlib.contextmanager
def user_facing_errors(hf_id: str, endpoint: str) -> Iterator[None]:
    """Turn network, server and disk failures into one plain sentence (UserFacingError)."""
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    http = http_module()
    name = display_name(hf_id)
    host = urlsplit(endpoint).netloc or endpoint
    resume = "the download can be resumed by running the same command again."
    try:
        yield
    except UserFacingError:
        raise
    except OfflineModeIsEnabled as exc:
        raise UserFacingError(
            _("Could not download {name}: downloads are switched off on this computer (HF_HUB_OFFLINE is "
              "set). Unset HF_HUB_OFFLINE and run the same command again.").format(name=name)
        ) from exc
    except GatedRepoError as exc:
        raise UserFacingError(
            _("The model server only gives {hf_id} to signed-in users who accepted its licence. Accept "
              "it on the model's web page, sign in with `hf auth login`, and run the same command again.").format(hf_id=hf_id)
        ) from exc
    except RepositoryNotFoundError as exc:
        raise UserFacingError(
            _("The model server {host} has no model called {hf_id}. Check the name; `{command}` shows "
              "the known models.").format(host=host, hf_id=hf_id, command=user_command('models', 'list'))
        ) from exc
    except RevisionNotFoundError as exc:
        raise UserFacingError(_("The model server has no {revision!r} version of {hf_id}.").format(revision=REVISION, hf_id=hf_id)) from exc
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else None
        if status is not None and (status >= 500 or status in (408, 429)):
            raise UserFacingError(
                _("The model server {host} is not answering properly right now (error {status}). Try again "
                  "later; {resume}").format(host=host, status=status, resume=resume)
            ) from exc
        raise UserFacingError(
            _("The model server {host} refused to send {name} (error {status}). Check the name and try "
              "again.").format(host=host, name=name, status=status)
        ) from exc
    except (http.TransportError, LocalEntryNotFoundError, ConnectionError, TimeoutError) as exc:
        raise UserFacingError(
            _("Could not reach the model server ({host}) to download {name}. Check your connection; "
              "{resume}").format(host=host, name=name, resume=resume)
        ) from exc
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise UserFacingError(
                _("The disk is full while downloading {name}. Free some space; {resume}").format(name=name, resume=resume)
            ) from exc
        raise UserFacingError(_("Could not save {name} to {folder}: {value}.").format(name=name, folder=hub_cache_dir(), value=exc.strerror or exc)) from exc
