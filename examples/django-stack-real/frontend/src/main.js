const response = await fetch("/api/hello");
document.querySelector("#message").textContent = (await response.json()).message;
