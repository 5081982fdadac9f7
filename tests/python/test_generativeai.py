"""google-generativeai (the deprecated SDK the service guide uses), REST transport."""
import google.generativeai as genai
import pytest
from google.api_core import exceptions

from conftest import KEY, MODEL


@pytest.fixture(autouse=True)
def configured(base):
    genai.configure(api_key=KEY, transport="rest", client_options={"api_endpoint": base})
    yield


def test_guide_quickstart():
    model = genai.GenerativeModel(MODEL)
    response = model.generate_content("你好,介绍一下你自己")
    assert response.text


def test_guide_generation_config():
    model = genai.GenerativeModel(MODEL)
    response = model.generate_content(
        "写一首关于秋天的诗",
        generation_config={"temperature": 0.9, "top_p": 0.95, "max_output_tokens": 1024},
    )
    assert response.text
    assert response.usage_metadata.total_token_count > 0


def test_guide_multi_turn_chat():
    model = genai.GenerativeModel(MODEL)
    chat = model.start_chat(history=[])
    assert chat.send_message("你好,我想学习 Python").text
    assert chat.send_message("应该从哪里开始?").text
    assert len(chat.history) == 4


def test_guide_streaming():
    model = genai.GenerativeModel(MODEL)
    response = model.generate_content("写一篇关于人工智能的文章", stream=True)
    text = "".join(chunk.text for chunk in response)
    assert text


def test_system_instruction_and_stop_sequences():
    model = genai.GenerativeModel(MODEL, system_instruction="You are a cat. Your name is Neko.")
    r = model.generate_content("Hello there", generation_config={"stop_sequences": ["END"], "max_output_tokens": 12})
    assert "END" not in r.text


def test_count_tokens_and_models():
    model = genai.GenerativeModel(MODEL)
    assert model.count_tokens("Explain how AI works").total_tokens > 0
    names = [m.name for m in genai.list_models()]
    assert "models/gemini-2.5-flash" in names
    assert genai.get_model("models/gemini-2.5-flash").output_token_limit == 48


def test_invalid_key_is_bad_request(base):
    genai.configure(api_key="AIzaSyWrongWrongWrongWrongWrongWrong000", transport="rest",
                    client_options={"api_endpoint": base})
    with pytest.raises(exceptions.BadRequest) as e:
        genai.GenerativeModel(MODEL).generate_content("hi")
    assert "API key not valid" in str(e.value)
