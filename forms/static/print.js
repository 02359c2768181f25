// The print button of a printable page (a notice).
document.getElementById("print").addEventListener("click", () => window.print());
