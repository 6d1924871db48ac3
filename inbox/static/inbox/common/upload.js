/*
 * File uploads (POST {api}/attachments), shared by the widget and the staff page.
 *
 * XMLHttpRequest rather than fetch: only it reports upload progress. Like rest.js's
 * ``request`` it never throws: a network failure or a cancel is a response with status 0.
 * A message naming the attachment is sent only after this resolves ok, so nobody ever sees a
 * message whose file is still on its way.
 */

/** Types the server accepts by default (it decides by the bytes, not by this list). */
export const ACCEPT = "image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain";

/** ``{promise, cancel}``; ``promise`` resolves to ``{ok, status, data, retryAfter}``. */
export function uploadFile(url, { file, conversationId, headers = {}, onProgress }) {
  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve) => {
    const answer = () => {
      let data = null;
      try {
        data = JSON.parse(xhr.responseText);
      } catch (error) {
        data = null;
      }
      resolve({
        ok: xhr.status >= 200 && xhr.status < 300,
        status: xhr.status,
        data,
        retryAfter: Number(xhr.getResponseHeader("Retry-After")) || 0,
      });
    };
    const offline = () => resolve({ ok: false, status: 0, data: null, retryAfter: 0, cancelled: xhr.cancelled });
    xhr.open("POST", url);
    xhr.withCredentials = true;
    xhr.setRequestHeader("Accept", "application/json");
    Object.keys(headers).forEach((name) => xhr.setRequestHeader(name, headers[name]));
    xhr.upload.addEventListener("progress", (event) => {
      if (onProgress && event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener("load", answer);
    xhr.addEventListener("error", offline);
    xhr.addEventListener("abort", offline);
    const form = new FormData();
    if (conversationId) form.append("conversationId", conversationId);
    form.append("file", file, file.name || "pasted-image");
    xhr.send(form);
  });
  const cancel = () => {
    xhr.cancelled = true;
    xhr.abort();
  };
  return { promise, cancel };
}

/** The basic item a send names an uploaded attachment with (the server fills in the rest). */
export function attachmentItem(attachment) {
  const kind = attachment.width ? "image" : "file";
  return { [kind]: { id: attachment.id } };
}

/**
 * Every way a surface takes files: its paperclip ``button`` opening the hidden file ``input``,
 * a paste into ``textbox`` (screenshots arrive as pasted image files) and a drop on
 * ``dropZone`` (marked ``dropping`` while a drag is over it). ``onFiles(files)`` gets them.
 */
export function bindFileSources({ button, input, textbox, dropZone, onFiles }) {
  button.addEventListener("click", () => input.click());
  input.addEventListener("change", () => {
    onFiles(Array.from(input.files || []));
    input.value = "";
    textbox.focus();
  });
  textbox.addEventListener("paste", (event) => {
    const files = eventFiles(event);
    if (!files.length) return;
    event.preventDefault();
    onFiles(files);
  });
  dropZone.addEventListener("dragover", (event) => {
    event.preventDefault();
    dropZone.classList.add("dropping");
  });
  dropZone.addEventListener("dragleave", () => dropZone.classList.remove("dropping"));
  dropZone.addEventListener("drop", (event) => {
    event.preventDefault();
    dropZone.classList.remove("dropping");
    onFiles(eventFiles(event));
  });
}

/** The files of a paste or drop event. */
export function eventFiles(event) {
  const transfer = event.clipboardData || event.dataTransfer;
  return transfer && transfer.files ? Array.from(transfer.files) : [];
}
