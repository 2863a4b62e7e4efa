"""CelebA files: official `.txt` lists, MoPoE/Kaggle `.csv` lists, images.

- `list_attr_celeba.txt`: line 1 = number of images, line 2 = the 40
  attribute names, then `<file> <40 values of ±1>` (runs of spaces).
- `list_eval_partition.txt`: `<file> <0|1|2>`.
- `list_attr_celeba.csv`: `image_id`, then the 40 attributes (±1).
- `list_eval_partition.csv`: `image_id`, `partition`.
- text: `list_attr_text_256_False_True_celeba.csv`: `image_id`, `text`.
- images: `img_align_celeba/<file>.jpg` (178 wide × 218 high), possibly
  nested once (`img_align_celeba/img_align_celeba/`, Kaggle), or inside
  `img_align_celeba.zip`.
"""

import csv
import io
import os
import zipfile

import numpy as np

from keras_mmvae.src.datasets import cache
from keras_mmvae.src.datasets import errors

NUM_ATTRIBUTES = 40
CROP = 148
IMAGE_SIZE = 64


def read_attr_txt(path):
    """Returns `(attribute_names, image_ids, values int8 (N, 40))`."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise errors.corrupt_file_error(path, str(e)) from e
    if len(lines) < 2:
        raise errors.corrupt_file_error(path, "fewer than two header lines")
    try:
        count = int(lines[0].strip())
    except ValueError:
        raise errors.corrupt_file_error(
            path, f"line 1 should be the number of images, got {lines[0]!r}"
        ) from None
    names = lines[1].split()
    if len(names) != NUM_ATTRIBUTES:
        raise errors.corrupt_file_error(
            path, f"line 2 should list {NUM_ATTRIBUTES} attribute names, "
            f"found {len(names)}"
        )
    rows = [line.split() for line in lines[2:] if line.strip()]
    if len(rows) != count:
        raise errors.corrupt_file_error(
            path, f"line 1 announces {count} images but {len(rows)} rows "
            "follow (truncated file?)"
        )
    ids, values = _parse_rows(path, rows, first_line=3)
    return names, ids, values


def _parse_rows(path, rows, first_line):
    bad = [i for i, row in enumerate(rows) if len(row) != NUM_ATTRIBUTES + 1]
    if bad:
        raise errors.corrupt_file_error(
            path, f"line {bad[0] + first_line} has {len(rows[bad[0]])} "
            f"fields, expected {NUM_ATTRIBUTES + 1} (file + 40 values)"
        )
    ids = [row[0] for row in rows]
    try:
        values = np.array([row[1:] for row in rows], dtype="int64")
    except ValueError:
        raise errors.corrupt_file_error(
            path, "attribute values must be integers (±1)"
        ) from None
    values = values.reshape(len(rows), NUM_ATTRIBUTES)
    if values.size and not np.all(np.isin(values, (-1, 0, 1))):
        raise errors.corrupt_file_error(path, "attribute values must be ±1")
    return ids, values.astype("int8")


def _read_csv(path, required):
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise errors.corrupt_file_error(path, str(e)) from e
    if header is None:
        raise errors.corrupt_file_error(path, "empty file")
    header = [h.strip() for h in header]
    for column in required:
        if column not in header:
            raise errors.corrupt_file_error(
                path, f"no {column!r} column (header: {header[:6]}...)"
            )
    rows = [row for row in rows if row]
    bad = [i for i, row in enumerate(rows) if len(row) != len(header)]
    if bad:
        raise errors.corrupt_file_error(
            path, f"line {bad[0] + 2} has {len(rows[bad[0]])} fields, "
            f"expected {len(header)}"
        )
    return header, rows


def read_attr_csv(path):
    """Returns `(attribute_names, image_ids, values int8 (N, 40))`."""
    header, rows = _read_csv(path, ["image_id"])
    id_col = header.index("image_id")
    names = [h for i, h in enumerate(header) if i != id_col and h]
    unnamed = [i for i, h in enumerate(header) if i != id_col and not h]
    if len(names) != NUM_ATTRIBUTES:
        raise errors.corrupt_file_error(
            path, f"expected 'image_id' and {NUM_ATTRIBUTES} attribute "
            f"columns, found {len(names)} attribute columns"
        )
    cols = [id_col] + [i for i, h in enumerate(header)
                       if i != id_col and i not in unnamed]
    rows = [[row[i].strip() for i in cols] for row in rows]
    ids, values = _parse_rows(path, rows, first_line=2)
    return names, ids, values


def read_partition(path):
    """`{image_id: partition}` from the `.txt` or `.csv` partition list."""
    if path.endswith(".csv"):
        header, rows = _read_csv(path, ["image_id", "partition"])
        i, j = header.index("image_id"), header.index("partition")
        pairs = [(row[i].strip(), row[j].strip()) for row in rows]
    else:
        try:
            with open(path, encoding="utf-8") as f:
                pairs = [tuple(line.split()) for line in f if line.strip()]
        except (OSError, UnicodeDecodeError) as e:
            raise errors.corrupt_file_error(path, str(e)) from e
        bad = [k for k, p in enumerate(pairs) if len(p) != 2]
        if bad:
            raise errors.corrupt_file_error(
                path, f"line {bad[0] + 1} should be '<file> <0|1|2>'"
            )
    out = {}
    for image_id, part in pairs:
        if part not in ("0", "1", "2"):
            raise errors.corrupt_file_error(
                path, f"partition of {image_id!r} is {part!r}, not 0, 1 or 2"
            )
        out[image_id] = int(part)
    return out


def read_text_csv(path):
    """`{image_id: text}` from a MoPoE attribute-text CSV."""
    header, rows = _read_csv(path, ["image_id", "text"])
    i, j = header.index("image_id"), header.index("text")
    return {row[i].strip(): row[j] for row in rows}


def write_text_csv(path, image_ids, texts):
    """Writes `image_id,text` rows atomically."""
    def write(tmp):
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["image_id", "text"])
            writer.writerows(zip(image_ids, texts))

    cache.write_atomically(path, write)


# ------------------------------------------------------------------ images
def find_images(root):
    """`("dir", folder)` or `("zip", path, prefix)` for the images, or None."""
    folder = os.path.join(root, "img_align_celeba")
    if os.path.isdir(folder):
        nested = os.path.join(folder, "img_align_celeba")
        if os.path.isdir(nested):
            return ("dir", nested)
        return ("dir", folder)
    archive = folder + ".zip"
    if os.path.isfile(archive):
        try:
            with zipfile.ZipFile(archive) as z:
                names = z.namelist()
        except (zipfile.BadZipFile, OSError) as e:
            raise errors.corrupt_file_error(archive, f"bad zip ({e})") from e
        first = next((n for n in names if n.lower().endswith(".jpg")), None)
        if first is None:
            raise errors.corrupt_file_error(archive, "holds no .jpg files")
        return ("zip", archive, first[: first.rfind("/") + 1])
    return None


def crop_box(width, height, crop=CROP):
    """torchvision `CenterCrop`: `(left, top, right, bottom)`."""
    top = round((height - crop) / 2.0)
    left = round((width - crop) / 2.0)
    return left, top, left + crop, top + crop


def preprocess(image, path, crop=CROP, size=IMAGE_SIZE):
    """Centre crop `crop`×`crop` (rows 35:183, cols 15:163 of 218×178),
    bicubic resize to `size`×`size`, RGB uint8."""
    from PIL import Image

    width, height = image.size
    if width < crop or height < crop:
        raise errors.corrupt_file_error(
            path, f"image is {width}x{height}, smaller than the {crop}x{crop} "
            "crop"
        )
    image = image.convert("RGB").crop(crop_box(width, height, crop))
    image = image.resize((size, size), Image.BICUBIC)
    return np.asarray(image)


def decode_images(source, names, crop=CROP, size=IMAGE_SIZE):
    """Decodes and preprocesses images to uint8 `(n, size, size, 3)`."""
    from PIL import Image
    from PIL import UnidentifiedImageError

    out = np.empty((len(names), size, size, 3), "uint8")
    archive = zipfile.ZipFile(source[1]) if source[0] == "zip" else None
    try:
        for row, name in enumerate(names):
            if archive is None:
                path = os.path.join(source[1], name)
                opener = path
            else:
                path = f"{source[1]}!{source[2]}{name}"
                try:
                    opener = io.BytesIO(archive.read(source[2] + name))
                except KeyError:
                    raise FileNotFoundError(
                        f"{name!r} is listed in the CelebA lists but missing "
                        f"from {source[1]!r}."
                    ) from None
            if archive is None and not os.path.isfile(path):
                raise FileNotFoundError(
                    f"CelebA image {path!r} is listed in the attribute and "
                    "partition files but does not exist; the image folder is "
                    "incomplete (re-extract img_align_celeba.zip)."
                )
            try:
                with Image.open(opener) as image:
                    out[row] = preprocess(image, path, crop, size)
            except (UnidentifiedImageError, OSError, SyntaxError) as e:
                raise errors.corrupt_file_error(
                    path, f"not a readable image ({e})"
                ) from e
    finally:
        if archive is not None:
            archive.close()
    return out
