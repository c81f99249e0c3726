import { renderSVG } from "uqr";

/**
 * A QR code as inline SVG, rendered here in the Worker: invite URLs are private and must
 * never be sent to a third-party QR service.
 */
export function qrSvg(text: string, pixelSize = 6): string {
  return renderSVG(text, { ecc: "M", border: 2, pixelSize, whiteColor: "#ffffff", blackColor: "#111111" });
}
