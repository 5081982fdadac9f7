// Copying text to the clipboard. The Clipboard API exists only in secure contexts (https, or
// http on localhost); a console opened over plain http on a LAN address falls back to
// selecting the text, so the user can press Ctrl+C.

/** Copies `text`; returns true, or false after selecting `fallback` (an input or element). */
export async function copy(text, fallback) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // permission refused: fall through to selecting
  }
  if (fallback instanceof HTMLInputElement || fallback instanceof HTMLTextAreaElement) {
    fallback.focus();
    fallback.select();
  } else if (fallback) {
    const range = document.createRange();
    range.selectNodeContents(fallback);
    const selection = getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }
  return false;
}

/** The message to show after `copy`: what happened, and what to do when it could not. */
export const copiedMessage = (ok) => (ok ? 'Copied to the clipboard.' : 'Selected: press Ctrl+C (⌘C) to copy.');
